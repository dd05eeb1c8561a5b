"""What an OpenAI-compatible chat judge is asked: a neutral task description, the chat messages
built from it for one pair in one response order, and the prompt version that names them.

Plain values only (no Django): the Django side builds a :class:`JudgeTask` from a campaign's
task schema.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

# Bump when the template below changes in a way the hash would not show (it usually does).
PROMPT_TEMPLATE_VERSION = "chat1"

# Shown first, then second: "ab" shows response_a as "Response A"; "ba" shows response_b as A.
ORDERS = ("ab", "ba")

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
_TAG = re.compile(r"^[A-Za-z0-9._-]{0,24}$")


@dataclass(frozen=True)
class ScalePoint:
    value: int
    label: str


# The two pairwise scales of the task templates (negative favours the response shown as A).
FIVE_POINT = (
    ScalePoint(-2, "A is clearly better"),
    ScalePoint(-1, "A is slightly better"),
    ScalePoint(0, "Tie"),
    ScalePoint(1, "B is slightly better"),
    ScalePoint(2, "B is clearly better"),
)
HELPSTEER2_STRENGTH = (
    ScalePoint(-3, "A is much better"),
    ScalePoint(-2, "A is better"),
    ScalePoint(-1, "A is slightly better"),
    ScalePoint(0, "About the same"),
    ScalePoint(1, "B is slightly better"),
    ScalePoint(2, "B is better"),
    ScalePoint(3, "B is much better"),
)


@dataclass(frozen=True)
class PairwiseQuestion:
    """A question about the pair, answered with one value of a scale symmetric around 0."""

    key: str
    text: str
    scale: tuple[ScalePoint, ...] = FIVE_POINT

    def __post_init__(self) -> None:
        values = [point.value for point in self.scale]
        if not values or len(set(values)) != len(values) or set(values) != {-v for v in values}:
            raise ValueError(
                f"{self.key}: a pairwise scale is distinct values symmetric around 0, got {values}"
            )

    @property
    def values(self) -> tuple[int, ...]:
        return tuple(point.value for point in self.scale)


@dataclass(frozen=True)
class RatingQuestion:
    """An attribute each response is rated on (HelpSteer2: 0–4, each value with its anchor)."""

    key: str
    text: str
    scale: tuple[ScalePoint, ...]

    def __post_init__(self) -> None:
        values = [point.value for point in self.scale]
        if not values or len(set(values)) != len(values):
            raise ValueError(
                f"{self.key}: a rating scale is a non-empty set of distinct values, got {values}"
            )

    @property
    def values(self) -> tuple[int, ...]:
        return tuple(point.value for point in self.scale)


@dataclass(frozen=True)
class JudgeTask:
    """What to ask: the overall preference, per-aspect preferences, per-response ratings.

    At least one of them; keys are distinct. ``guidelines`` (Markdown) is shown as it is.
    """

    preference: PairwiseQuestion | None = None
    aspects: tuple[PairwiseQuestion, ...] = ()
    ratings: tuple[RatingQuestion, ...] = ()
    guidelines: str = ""

    def __post_init__(self) -> None:
        if self.preference is None and not self.aspects and not self.ratings:
            raise ValueError(
                "A judge task asks an overall preference, aspect preferences or ratings."
            )
        for group in (self.aspects, self.ratings):
            keys = [question.key for question in group]
            if len(set(keys)) != len(keys):
                raise ValueError(f"Question keys are used twice: {keys}")
            for key in keys:
                if not _KEY.match(key):
                    raise ValueError(f"{key!r}: keys are lower-case letters, digits and _.")


@dataclass(frozen=True)
class ChatPair:
    """One item: the conversation (``[{"role", "content"}, ...]`` ending with a user turn) and
    its two responses by position (``response_a`` is the row's first)."""

    item_id: int | str
    messages: Sequence[dict] = field(default_factory=tuple)
    response_a: str = ""
    response_b: str = ""


SYSTEM_PROMPT = (
    "You are an impartial expert judge of AI assistant responses. You are shown a conversation and "
    "two candidate final responses to it, Response A and Response B. Judge them on their content, "
    "following the guidelines and answering the questions given. The order in which the responses "
    "are shown, their length and the names of their authors must not influence you. Reply with "
    "exactly one JSON object and nothing else: no explanation before or after it."
)


def _scale_text(scale: Sequence[ScalePoint]) -> str:
    return "; ".join(f"{point.value} = {point.label}" for point in scale)


def _questions_text(task: JudgeTask) -> str:
    parts: list[str] = []
    if task.preference is not None:
        parts.append(
            f'"preference": {task.preference.text.strip()} Answer with one integer: '
            f"{_scale_text(task.preference.scale)}."
        )
    if task.aspects:
        lines = [
            '"aspects": for each aspect below, which response is better on that aspect alone, as one '
            "integer (negative favours A, positive favours B, 0 is a tie):"
        ]
        for aspect in task.aspects:
            lines.append(f'  - "{aspect.key}": {aspect.text.strip()} ({_scale_text(aspect.scale)})')
        parts.append("\n".join(lines))
    if task.ratings:
        lines = [
            '"ratings": rate each response on its own, under "A" and under "B", on every attribute:'
        ]
        for rating in task.ratings:
            lines.append(f'  - "{rating.key}": {rating.text.strip()} ({_scale_text(rating.scale)})')
        parts.append("\n".join(lines))
    parts.append('"confidence": how likely your answer is right, a number from 0 to 1.')
    parts.append(
        '"justification": one or two sentences giving the deciding reason; call the responses A and B.'
    )
    return "\n".join(f"{i}. {part}" for i, part in enumerate(parts, start=1))


def _answer_skeleton(task: JudgeTask) -> str:
    fields: list[str] = []
    if task.preference is not None:
        low, high = min(task.preference.values), max(task.preference.values)
        fields.append(f'"preference": <integer {low}..{high}>')
    if task.aspects:
        inner = ", ".join(
            f'"{a.key}": <integer {min(a.values)}..{max(a.values)}>' for a in task.aspects
        )
        fields.append(f'"aspects": {{{inner}}}')
    if task.ratings:
        inner = ", ".join(
            f'"{r.key}": <integer {min(r.values)}..{max(r.values)}>' for r in task.ratings
        )
        fields.append(f'"ratings": {{"A": {{{inner}}}, "B": {{{inner}}}}}')
    fields.append('"confidence": <number 0..1>')
    fields.append('"justification": "<text>"')
    return "{" + ", ".join(fields) + "}"


def _conversation_text(messages: Sequence[dict]) -> str:
    return "\n".join(f"[{m.get('role', 'user')}]\n{m.get('content', '')}" for m in messages)


def _user_prompt(task: JudgeTask, *, conversation: str, shown_a: str, shown_b: str) -> str:
    sections = []
    if task.guidelines.strip():
        sections.append(f"# Guidelines\n{task.guidelines.strip()}")
    sections += [
        f"# Conversation\n<conversation>\n{conversation}\n</conversation>",
        f"# Response A\n<response_a>\n{shown_a}\n</response_a>",
        f"# Response B\n<response_b>\n{shown_b}\n</response_b>",
        f"# Questions\n{_questions_text(task)}",
        f"# Answer format\nReply with exactly this JSON object, every key present:\n{_answer_skeleton(task)}",
    ]
    return "\n\n".join(sections)


def build_messages(task: JudgeTask, pair: ChatPair, order: str) -> list[dict]:
    """The chat messages for ``pair`` shown in ``order`` ("ab": response_a is Response A)."""
    if order not in ORDERS:
        raise ValueError(f"order is one of {ORDERS}, not {order!r}")
    shown_a, shown_b = (
        (pair.response_a, pair.response_b) if order == "ab" else (pair.response_b, pair.response_a)
    )
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {
            "role": "user",
            "content": _user_prompt(
                task,
                conversation=_conversation_text(pair.messages),
                shown_a=shown_a,
                shown_b=shown_b,
            ),
        },
    ]


def prompt_version(task: JudgeTask, tag: str = "") -> str:
    """``chat1.<12 hex>`` (+ ``.<tag>``): the template constant and a hash of the template as
    rendered for this task, with placeholders for the item. Any change to the wording, the
    questions, their scales or the guidelines gives a new version (at most 64 characters)."""
    if not _TAG.match(tag):
        raise ValueError(f"prompt version tag {tag!r}: at most 24 letters, digits, '.', '_' or '-'")
    template = [
        SYSTEM_PROMPT,
        _user_prompt(
            task, conversation="{conversation}", shown_a="{response_a}", shown_b="{response_b}"
        ),
    ]
    digest = hashlib.sha256(json.dumps(template, ensure_ascii=False).encode()).hexdigest()[:12]
    return f"{PROMPT_TEMPLATE_VERSION}.{digest}" + (f".{tag}" if tag else "")
