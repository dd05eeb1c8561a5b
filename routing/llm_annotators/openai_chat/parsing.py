"""Reading a judge's answer strictly, and its confidence from token logprobs.

An answer is exactly one JSON object (a Markdown ```json fence around it is tolerated, prose
is not). Keys may come in any order and unknown keys are ignored; a missing key, a wrong
type or a value outside its scale makes the answer unparseable, never a default.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from routing.llm_annotators.openai_chat.prompt import JudgeTask

_FENCE = re.compile(r"\A```(?:json|JSON)?[ \t]*\n?(.*?)\n?[ \t]*```\Z", re.DOTALL)


class UnparseableAnswer(ValueError):
    """The answer is not the JSON object asked for; the message says what is wrong."""


@dataclass(frozen=True)
class ParsedAnswer:
    """An answer as given: A and B are the responses as shown (not yet by position)."""

    preference: int | None
    aspects: dict[str, int]
    ratings: tuple[dict[str, int], dict[str, int]]  # shown A, shown B
    confidence: float
    justification: str


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    keys = [key for key, _ in pairs]
    duplicated = sorted({key for key in keys if keys.count(key) > 1})
    if duplicated:
        raise UnparseableAnswer(f"keys given twice: {', '.join(duplicated)}")
    return dict(pairs)


def _no_constants(name: str) -> float:
    raise UnparseableAnswer(f"{name} is not a JSON number")


def _json_body(text: str) -> str:
    stripped = text.strip()
    fenced = _FENCE.match(stripped)
    return fenced.group(1).strip() if fenced else stripped


def _integer_in(where: str, value: object, allowed: Sequence[int]) -> int:
    if type(value) is not int:
        raise UnparseableAnswer(f"{where}: expected an integer, got {json.dumps(value)}")
    if value not in allowed:
        raise UnparseableAnswer(
            f"{where}: {value} is not one of {', '.join(str(v) for v in allowed)}"
        )
    return value


def _object(where: str, value: object) -> dict:
    if not isinstance(value, dict):
        raise UnparseableAnswer(f"{where}: expected an object, got {json.dumps(value)[:80]}")
    return value


def parse_answer(text: str | None, task: JudgeTask) -> ParsedAnswer:
    """The answer's values, checked against the task; raises :class:`UnparseableAnswer`."""
    if not text or not text.strip():
        raise UnparseableAnswer("the answer is empty")
    body = _json_body(text)
    if not body.startswith("{"):
        raise UnparseableAnswer(f"the answer is not a JSON object: {body[:80]!r}")
    try:
        answer = json.loads(body, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise UnparseableAnswer(f"invalid JSON ({exc.msg} at character {exc.pos})") from None
    answer = _object("the answer", answer)
    required = ["confidence", "justification"]
    if task.preference is not None:
        required.append("preference")
    if task.aspects:
        required.append("aspects")
    if task.ratings:
        required.append("ratings")
    missing = [key for key in required if key not in answer]
    if missing:
        raise UnparseableAnswer(f"missing keys: {', '.join(sorted(missing))}")

    preference = None
    if task.preference is not None:
        preference = _integer_in("preference", answer["preference"], task.preference.values)
    aspects: dict[str, int] = {}
    if task.aspects:
        given = _object("aspects", answer["aspects"])
        for aspect in task.aspects:
            if aspect.key not in given:
                raise UnparseableAnswer(f'aspects: "{aspect.key}" is missing')
            aspects[aspect.key] = _integer_in(
                f"aspects.{aspect.key}", given[aspect.key], aspect.values
            )
    ratings: tuple[dict[str, int], dict[str, int]] = ({}, {})
    if task.ratings:
        given = _object("ratings", answer["ratings"])
        for side, into in zip("AB", ratings, strict=True):
            if side not in given:
                raise UnparseableAnswer(f'ratings: "{side}" is missing')
            of_side = _object(f"ratings.{side}", given[side])
            for rating in task.ratings:
                if rating.key not in of_side:
                    raise UnparseableAnswer(f'ratings.{side}: "{rating.key}" is missing')
                into[rating.key] = _integer_in(
                    f"ratings.{side}.{rating.key}", of_side[rating.key], rating.values
                )

    confidence = answer["confidence"]
    if type(confidence) not in (int, float) or not 0 <= confidence <= 1:
        raise UnparseableAnswer(
            f"confidence: expected a number from 0 to 1, got {json.dumps(confidence)}"
        )
    justification = answer["justification"]
    if not isinstance(justification, str):
        raise UnparseableAnswer(
            f"justification: expected a string, got {json.dumps(justification)[:80]}"
        )
    return ParsedAnswer(
        preference=preference,
        aspects=aspects,
        ratings=ratings,
        confidence=float(confidence),
        justification=justification.strip(),
    )


# --- confidence from token logprobs ---------------------------------------------------------------


def preference_value_offset(text: str) -> int | None:
    """Character offset in ``text`` where the top-level "preference" value starts, or None."""
    depth = 0
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == '"':
            end = i + 1
            while end < n and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            key = text[i + 1 : end]
            i = end + 1
            if depth == 1 and key == "preference":
                j = i
                while j < n and text[j].isspace():
                    j += 1
                if j < n and text[j] == ":":
                    j += 1
                    while j < n and text[j].isspace():
                        j += 1
                    return j if j < n else None
            continue
        if char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
        i += 1
    return None


def _alternatives(entry: dict) -> dict[str, float]:
    alternatives = {
        alt["token"]: alt["logprob"]
        for alt in entry.get("top_logprobs") or []
        if isinstance(alt, dict)
        and isinstance(alt.get("token"), str)
        and isinstance(alt.get("logprob"), int | float)
    }
    alternatives.setdefault(entry["token"], entry["logprob"])
    return alternatives


def _probability_of(tokens: list[dict], index: int, prefix: str, target: str) -> float:
    """P(the text from here spells ``target`` and then a non-digit), following the sampled path
    when the target spans several tokens (only that path's next-token alternatives are known)."""
    if index >= len(tokens) or not target:
        return 0.0
    entry = tokens[index]
    lead = prefix.rstrip()
    total = 0.0
    for token, logprob in _alternatives(entry).items():
        if not token.lstrip().startswith(lead):
            continue
        rest = token.lstrip()[len(lead) :].lstrip()
        if not rest:
            continue
        if rest.startswith(target):
            if not rest[len(target) : len(target) + 1].isdigit():
                total += math.exp(logprob)
        elif target.startswith(rest) and token == entry["token"]:
            total += math.exp(logprob) * _probability_of(tokens, index + 1, "", target[len(rest) :])
    return total


def preference_probabilities(
    text: str, logprobs: object, values: Sequence[int]
) -> dict[int, float] | None:
    """P(each scale value) at the preference token, from a chat completion's
    ``choices[0].logprobs`` (``content``: tokens with ``logprob`` and ``top_logprobs``).

    None when there are no logprobs or the tokens do not spell the answer (then the
    verbalised confidence is used). Probabilities are not renormalised: mass on tokens outside
    the returned top alternatives is unknown.
    """
    if not isinstance(logprobs, dict) or not isinstance(logprobs.get("content"), list):
        return None
    tokens = logprobs["content"]
    if not tokens or not all(
        isinstance(t, dict)
        and isinstance(t.get("token"), str)
        and isinstance(t.get("logprob"), int | float)
        for t in tokens
    ):
        return None
    offset = preference_value_offset(text)
    if offset is None:
        return None
    # Token spans in bytes when every token has them (a multi-byte character may be split
    # across tokens, whose strings then do not add up to the text), else in characters.
    if all(isinstance(t.get("bytes"), list) for t in tokens):
        pieces = [bytes(t["bytes"]) for t in tokens]
        whole, target = text.encode(), len(text[:offset].encode())
    else:
        pieces = [t["token"] for t in tokens]
        whole, target = text, offset
    if type(whole)().join(pieces) != whole:
        return None  # the tokens do not spell the text: no reliable alignment
    start = 0
    for index, piece in enumerate(pieces):
        end = start + len(piece)
        if start <= target < end:
            prefix = piece[: target - start]
            if isinstance(prefix, bytes):
                prefix = prefix.decode("utf-8", errors="ignore")
            probabilities = {v: _probability_of(tokens, index, prefix, str(v)) for v in values}
            return {v: round(p, 6) for v, p in probabilities.items()}
        start = end
    return None
