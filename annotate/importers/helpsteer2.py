"""HelpSteer2 (NVIDIA), one row per (prompt, response); two rows make one instance.

Columns read: ``prompt``, ``response`` and the optional ratings ``helpfulness``,
``correctness``, ``coherence``, ``complexity``, ``verbosity`` (integers 0–4).

- Pairing: a row pairs with the next row when both carry the same prompt; the first
  becomes response 0, the second response 1. A row left without a partner (a lone
  prompt, or a third row on the same prompt) is an error naming its line in a campaign
  that compares pairs; a rating-only campaign imports it as a one-response instance.
  The same file therefore gives the same pairs, with the same ids, in either campaign.
- Multi-turn prompts: earlier turns are joined in the prompt with
  ``<extra_id_1>Assistant`` / ``<extra_id_1>User`` markers; the text before the first
  marker is the first user turn. They become the instance's messages, which must end
  with a user turn.
- External id: ``"hs2-"`` + the first 16 hex digits of the SHA-256 of
  ``prompt + "\\0" + response_0 + "\\0" + response_1`` (UTF-8; ``prompt + "\\0" +
  response_0`` for a one-response instance), so re-importing the same file finds the
  same ids.
- Ratings become one imported label per instance by ``helpsteer2-release`` (the released
  scores are already aggregated over 3–5 annotators: the rounded mean of the three most
  agreeing), answering the rating questions of the same names for each response (the
  HelpSteer2 rating template). Only the columns present are answered.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from annotate.importers.base import (
    Importer,
    ParsedAnswer,
    ParsedInstance,
    ParsedLabel,
    ParsedResponse,
    ResponseCount,
    RowChecker,
    RowError,
    SourceRow,
    iter_row_checkers,
)

RATING_COLUMNS = ("helpfulness", "correctness", "coherence", "complexity", "verbosity")
RATING_MIN, RATING_MAX = 0, 4
_TURN_MARKER = re.compile(r"<extra_id_1>(User|Assistant)")


@dataclass
class _HalfPair:
    line: int
    prompt: str | None  # None when the row's prompt was unreadable (already reported)
    messages: list[dict[str, str]] | None
    response: str | None
    ratings: dict[str, int]
    valid: bool


class HelpSteer2Importer(Importer):
    name = "helpsteer2"
    label = "HelpSteer2 (prompt, response, ratings; two consecutive rows per prompt)"

    def parse(
        self, rows: Iterable[SourceRow], *, response_count: ResponseCount
    ) -> Iterator[ParsedInstance | RowError]:
        pending: _HalfPair | None = None
        for checker in iter_row_checkers(rows):
            if isinstance(checker, RowError):
                yield checker
                continue
            half = self._read_row(checker)
            yield from checker.errors
            if pending is None:
                pending = half
                continue
            if _same_prompt(pending, half):
                if pending.valid and half.valid:
                    yield _instance([pending, half])
                pending = None
                continue
            yield from _lone(pending, response_count=response_count)
            pending = half
        if pending is not None:
            yield from _lone(pending, response_count=response_count)

    def _read_row(self, row: RowChecker) -> _HalfPair:
        prompt = row.text("prompt")
        messages = None if prompt is None else split_turns(row, prompt)
        response = row.text("response")
        ratings: dict[str, int] = {}
        for column in RATING_COLUMNS:
            value = row.row.get(column)
            if value is None:
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or not RATING_MIN <= value <= RATING_MAX
            ):
                row.add(column, f"must be an integer from {RATING_MIN} to {RATING_MAX}")
            else:
                ratings[column] = value
        return _HalfPair(
            line=row.line,
            prompt=prompt,
            messages=messages,
            response=response,
            ratings=ratings,
            valid=not row.errors,
        )


def split_turns(row: RowChecker, prompt: str) -> list[dict[str, str]] | None:
    """The prompt's turns as messages; None (with errors on ``prompt``) when malformed."""
    parts = _TURN_MARKER.split(prompt)
    # parts = [first user text, role, text, role, text, ...]
    turns = [("user", parts[0])] + [
        (role.lower(), text) for role, text in zip(parts[1::2], parts[2::2], strict=False)
    ]
    if len(turns) > 1 and not turns[0][1].strip():
        turns = turns[1:]  # the prompt opened with an explicit "<extra_id_1>User" marker
    messages = []
    for i, (role, text) in enumerate(turns):
        content = text.strip()
        if not content:
            row.add("prompt", f"turn {i + 1} ({role}) is empty")
            return None
        messages.append({"role": role, "content": content})
    if messages[-1]["role"] != "user":
        row.add("prompt", "must end with a user turn")
        return None
    return messages


def _same_prompt(first: _HalfPair, second: _HalfPair) -> bool:
    # An unreadable prompt (already an error) pairs with its neighbour rather than
    # cascading into "unpaired" errors for every later row.
    return first.prompt is None or second.prompt is None or first.prompt == second.prompt


def _lone(half: _HalfPair, *, response_count: ResponseCount) -> Iterator[ParsedInstance | RowError]:
    """A row without a partner: an instance of its own where one response is enough."""
    if response_count.accepts(1):
        if half.valid:
            yield _instance([half])
    elif half.prompt is not None:  # an unreadable prompt was reported already
        yield _unpaired(half)


def _unpaired(half: _HalfPair) -> RowError:
    return RowError(
        half.line,
        "prompt",
        "has no partner row: HelpSteer2 rows come in pairs sharing a prompt on consecutive lines",
    )


def _instance(halves: list[_HalfPair]) -> ParsedInstance:
    """One instance from valid rows sharing a prompt, responses in row order."""
    first = halves[0]
    assert first.prompt is not None and first.messages is not None
    texts = [half.response for half in halves]
    assert all(text is not None for text in texts)
    digest = hashlib.sha256("\0".join([first.prompt, *texts]).encode()).hexdigest()
    labels: tuple[ParsedLabel, ...] = ()
    if any(half.ratings for half in halves):
        ratings = {str(i): half.ratings for i, half in enumerate(halves)}
        labels = (
            ParsedLabel(
                annotator="helpsteer2-release",
                field="helpfulness",
                answers=tuple(
                    ParsedAnswer(question=name, position=i, codes=(str(value),))
                    for i, half in enumerate(halves)
                    for name, value in half.ratings.items()
                ),
                raw={"ratings": ratings},
            ),
        )
    return ParsedInstance(
        line=first.line,
        external_id=f"hs2-{digest[:16]}",
        messages=first.messages,
        responses=[ParsedResponse(text=text) for text in texts],
        id_field="prompt",
        labels=labels,
    )
