"""Preference-pair datasets: the Anthropic hh-rlhf transcript format.

hh-rlhf rows are ``{"chosen": str, "rejected": str}``; each value is a whole transcript
``"\\n\\nHuman: …\\n\\nAssistant: …"`` and the two share every turn but the last assistant reply.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

logger = logging.getLogger(__name__)

# Turn markers start a line after a blank line; "Human:" inside a turn (a known hh-rlhf quirk)
# stays part of the content.
_TURN_MARKER = re.compile(r"(?:^|\n\n)(Human|Assistant):")
_ROLES = {"Human": "user", "Assistant": "assistant"}


@dataclass(frozen=True)
class PreferencePair:
    """A conversation and two candidate final replies, ``chosen`` preferred over ``rejected``.

    ``messages`` is a tuple of ``{"role", "content"}`` dicts (roles ``user``/``assistant``).
    """

    messages: tuple[dict[str, str], ...]
    chosen: str
    rejected: str


class TranscriptError(ValueError):
    """A transcript is not in the hh-rlhf ``\\n\\nHuman: …\\n\\nAssistant: …`` format."""


class DatasetError(ValueError):
    """A dataset file has bad rows; ``errors`` lists ``(line, message)`` for each (1-based)."""

    def __init__(self, path: Path, errors: list[tuple[int, str]]):
        self.path = path
        self.errors = errors
        shown = "\n".join(f"  line {line}: {message}" for line, message in errors[:20])
        more = f"\n  … and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{path}: {len(errors)} bad row(s)\n{shown}{more}")


def parse_hh_transcript(text: str) -> tuple[list[dict[str, str]], str]:
    """Split an hh-rlhf transcript into ``(messages, final_reply)``.

    ``messages`` holds every turn before the last one, as ``{"role", "content"}`` dicts with
    stripped content; ``final_reply`` is the stripped content of the last turn, which must be an
    assistant turn (it may be empty). Raises ``TranscriptError`` saying what is wrong.
    """
    if not isinstance(text, str):
        raise TranscriptError(f"transcript must be a string, got {type(text).__name__}")
    matches = list(_TURN_MARKER.finditer(text))
    if not matches:
        raise TranscriptError("no '\\n\\nHuman:' or '\\n\\nAssistant:' turn marker found")
    leading = text[: matches[0].start()]
    if leading.strip():
        raise TranscriptError(f"text before the first turn marker: {leading.strip()[:40]!r}")
    turns = []
    for match, following in zip(matches, [*matches[1:], None], strict=False):
        end = following.start() if following is not None else len(text)
        turns.append({"role": _ROLES[match.group(1)], "content": text[match.end() : end].strip()})
    if turns[-1]["role"] != "assistant":
        raise TranscriptError("the last turn is not an Assistant turn")
    if len(turns) < 2:
        raise TranscriptError("no conversation before the final Assistant turn")
    return turns[:-1], turns[-1]["content"]


def load_hh_rlhf_pairs(
    path: str | Path,
    *,
    on_prefix_mismatch: Literal["skip", "error"] = "skip",
) -> list[PreferencePair]:
    """Read an hh-rlhf JSONL file (plain or ``.gz``) into preference pairs, in file order.

    Every row is validated before anything is returned: bad JSON, a missing or non-string
    ``chosen``/``rejected`` or an unparseable transcript raises ``DatasetError`` listing each bad
    line and why. Rows whose two transcripts differ before the final reply (5 of 2,312 in the
    harmless-base test split) are not a comparison of two replies in one context; they are skipped
    with a logged warning (``on_prefix_mismatch="skip"``) or reported as errors (``"error"``).
    A missing file raises ``FileNotFoundError`` naming it.
    """
    if on_prefix_mismatch not in ("skip", "error"):
        raise ValueError(
            f"on_prefix_mismatch must be 'skip' or 'error', got {on_prefix_mismatch!r}"
        )
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"hh-rlhf file not found: {path}")
    opener = gzip.open if path.suffix == ".gz" else open
    pairs: list[PreferencePair] = []
    errors: list[tuple[int, str]] = []
    skipped: list[int] = []
    with opener(path, "rt", encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.append((line_number, f"invalid JSON: {exc.msg} at column {exc.colno}"))
                continue
            if not isinstance(row, dict):
                errors.append((line_number, f"expected a JSON object, got {type(row).__name__}"))
                continue
            parsed = {}
            for field in ("chosen", "rejected"):
                if field not in row:
                    errors.append((line_number, f"missing field {field!r}"))
                    continue
                try:
                    parsed[field] = parse_hh_transcript(row[field])
                except TranscriptError as exc:
                    errors.append((line_number, f"field {field!r}: {exc}"))
            if len(parsed) != 2:
                continue
            (chosen_messages, chosen), (rejected_messages, rejected) = (
                parsed["chosen"],
                parsed["rejected"],
            )
            if chosen_messages != rejected_messages:
                if on_prefix_mismatch == "error":
                    errors.append(
                        (line_number, "chosen and rejected differ before the final reply")
                    )
                else:
                    skipped.append(line_number)
                continue
            pairs.append(PreferencePair(tuple(chosen_messages), chosen, rejected))
    if errors:
        raise DatasetError(path, errors)
    if skipped:
        logger.warning(
            "%s: skipped %d row(s) whose transcripts differ before the final reply: lines %s",
            path,
            len(skipped),
            ", ".join(map(str, skipped)),
        )
    return pairs


def split_pairs(
    pairs: Sequence[PreferencePair], *, train_size: int, seed: int
) -> tuple[list[PreferencePair], list[PreferencePair]]:
    """Split into ``(train, held_out)`` by a seeded permutation: ``train`` gets ``train_size``
    pairs, ``held_out`` the rest, both in permutation order. Same inputs, same split.
    """
    if not 0 < train_size < len(pairs):
        raise ValueError(f"train_size must be in 1..{len(pairs) - 1}, got {train_size}")
    import numpy as np

    order = np.random.default_rng(seed).permutation(len(pairs))
    return [pairs[i] for i in order[:train_size]], [pairs[i] for i in order[train_size:]]
