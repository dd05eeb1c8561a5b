"""Answers: checking them against a task schema, and turning what an annotator saw into
what is stored.

An annotator sees the responses in their assignment's display order (A may be the row's
second response). Forms report answers in display slots; :func:`to_positions` maps them back
to response positions, flips pairwise values and swaps the names @A / @B in free text when A
and B were swapped, so that stored answers never depend on the order shown (a stored @A is
the row's first response).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from annotate.models import AnswerValue, QuestionKind
from annotate.services.task_schemas import QuestionView, SchemaView


class AnswersRejected(ValueError):
    """The answers break the schema; the message names the question and why."""


# A text answer to a question without its own ``max_length`` is held to this.
MAX_TEXT_ANSWER_LENGTH = 20_000


@dataclass(frozen=True)
class AnswerInput:
    """One answer to one question: option codes (one, or any number for choices) or text.

    ``slot`` is a display slot (0 = shown as A) when it comes from a form, or a response
    position when it comes from an importer or an LLM annotator; None for pair questions.
    """

    question: str
    slot: int | None = None
    codes: tuple[str, ...] = ()
    text: str = ""


def to_positions(
    *, schema: SchemaView, answers: Iterable[AnswerInput], display_order: Sequence[int]
) -> list[AnswerInput]:
    """Answers in display slots → answers in response positions (pairwise values flipped
    when the pair was shown swapped). An empty display order means the natural order."""
    order = list(display_order)

    def position_of(answer: AnswerInput) -> int:
        if not 0 <= answer.slot < len(order):
            raise AnswersRejected(f'"{answer.question}": there is no response {slot_letter(answer.slot)}.')
        return order[answer.slot]

    return _remapped(schema=schema, answers=answers, order=order, slot_for=position_of)


def to_display_slots(
    *, schema: SchemaView, answers: Iterable[AnswerInput], display_order: Sequence[int]
) -> list[AnswerInput]:
    """The inverse of :func:`to_positions`: stored answers as the annotator saw them."""
    order = list(display_order)

    def slot_of(answer: AnswerInput) -> int:
        return order.index(answer.slot) if answer.slot in order else answer.slot

    return _remapped(schema=schema, answers=answers, order=order, slot_for=slot_of)


def _remapped(*, schema: SchemaView, answers: Iterable[AnswerInput], order: list[int], slot_for) -> list[AnswerInput]:
    # Swapping A and B mirrors a pairwise scale and the @A / @B names in free text; either
    # direction of the mapping is its own inverse.
    swapped = order[:2] == [1, 0]
    mapped: list[AnswerInput] = []
    for answer in answers:
        question = schema.by_key.get(answer.question)
        slot = slot_for(answer) if answer.slot is not None and order else answer.slot
        codes, text = answer.codes, answer.text
        if swapped and question is not None and question.kind == QuestionKind.PAIRWISE:
            codes = tuple(_mirrored_code(question, code) for code in codes)
        if swapped and text:
            text = _RESPONSE_NAME.sub(lambda m: "@B" if m.group(1) == "A" else "@A", text)
        mapped.append(AnswerInput(question=answer.question, slot=slot, codes=codes, text=text))
    return mapped


# "@A" / "@B" as a whole word: how annotators name the responses in free text (stored texts
# name them by position: @A is the row's first response).
_RESPONSE_NAME = re.compile(r"(?<![\w@])@([AB])(?!\w)")


def _mirrored_code(question: QuestionView, code: str) -> str:
    option = question.option_by_code.get(code)
    if option is None or option.value is None:
        return code  # unknown codes are reported by check_answers; "neither valid" stays
    mirrored = question.option_with_value(-option.value)
    return mirrored.code if mirrored else code


def slot_letter(slot: int) -> str:
    return chr(ord("A") + slot) if 0 <= slot < 26 else str(slot)


def why_unanswerable(*, schema: SchemaView, n_responses: int) -> str:
    """Why no answer to this item could be stored ("" when one can): a task that compares the
    pair needs exactly two responses."""
    if schema.compares_pairs and n_responses != 2:
        return (
            f"This item has {n_responses} response{'s' if n_responses != 1 else ''}; this task compares "
            "exactly two, so it cannot be answered. Skip it as broken (press s) so that it can be fixed."
        )
    return ""


@dataclass(frozen=True)
class CheckedAnswers:
    rows: tuple[AnswerValue, ...]  # unsaved, without an annotation yet
    overall_preference: int | None  # the primary question's value, by position


def check_answers(
    *,
    schema: SchemaView,
    answers: Sequence[AnswerInput],
    n_responses: int,
    enforce_required: bool = True,
) -> CheckedAnswers:
    """Validate answers (in response positions) against the schema; raise AnswersRejected
    naming the first problem. Nothing is dropped: an answer the schema has no place for is
    an error, not ignored. ``enforce_required=False`` is for labels from elsewhere (LLM
    annotators, imported datasets) that answer only some questions."""
    reason = why_unanswerable(schema=schema, n_responses=n_responses)
    if reason:
        raise AnswersRejected(reason)
    given: dict[tuple[str, int | None], AnswerInput] = {}
    for answer in answers:
        question = schema.by_key.get(answer.question)
        if question is None:
            raise AnswersRejected(f'"{answer.question}" is not a question of this task.')
        if question.per_response:
            if answer.slot is None or not 0 <= answer.slot < n_responses:
                raise AnswersRejected(f'"{question.key}" is asked of each response; say which one.')
        elif answer.slot is not None:
            raise AnswersRejected(f'"{question.key}" is about the pair, not one response.')
        if (answer.question, answer.slot) in given:
            raise AnswersRejected(f'"{question.key}" is answered twice.')
        given[(answer.question, answer.slot)] = answer

    rows: list[AnswerValue] = []
    overall: int | None = None
    for question in schema.questions:
        slots: list[int | None] = list(range(n_responses)) if question.per_response else [None]
        for slot in slots:
            answer = given.get((question.key, slot))
            where = f'"{question.label}"' + (f" for response {slot_letter(slot)}" if slot is not None else "")
            if question.kind == QuestionKind.TEXT:
                text = (answer.text if answer else "").strip()
                if not text:
                    if question.required and enforce_required:
                        raise AnswersRejected(f"{where} is required.")
                    continue
                limit = question.max_length or MAX_TEXT_ANSWER_LENGTH
                if len(text) > limit:
                    raise AnswersRejected(f"{where} is {len(text)} characters; at most {limit}.")
                rows.append(AnswerValue(question_id=question.id, response_position=slot, text=text))
                continue
            codes = answer.codes if answer else ()
            if not codes:
                if question.required and enforce_required and not question.multiple:
                    raise AnswersRejected(f"{where} is required.")
                continue
            if not question.multiple and len(codes) > 1:
                raise AnswersRejected(f"{where} takes one answer, got {len(codes)}.")
            if len(set(codes)) != len(codes):
                raise AnswersRejected(f"{where}: an option is ticked twice.")
            for code in codes:
                option = question.option_by_code.get(code)
                if option is None:
                    allowed = ", ".join(o.code for o in question.options)
                    raise AnswersRejected(f'{where}: "{code}" is not one of its options ({allowed}).')
                rows.append(
                    AnswerValue(
                        question_id=question.id, response_position=slot, option_id=option.id,
                        value=option.value, multiple=question.multiple,
                    )
                )
                if question.primary:
                    overall = option.value
    return CheckedAnswers(rows=tuple(rows), overall_preference=overall)


def answers_of(rows: Iterable[AnswerValue], schema: SchemaView) -> list[AnswerInput]:
    """Stored rows back as answers in response positions (to compare with a resubmission)."""
    key_of = {q.id: q for q in schema.questions}
    grouped: dict[tuple[str, int | None], list[AnswerValue]] = {}
    for row in rows:
        grouped.setdefault((key_of[row.question_id].key, row.response_position), []).append(row)
    answers = []
    for (key, slot), items in grouped.items():
        question = schema.by_key[key]
        if question.kind == QuestionKind.TEXT:
            answers.append(AnswerInput(question=key, slot=slot, text=items[0].text))
        else:
            codes = {o.id: o.code for o in question.options}
            answers.append(AnswerInput(question=key, slot=slot, codes=tuple(sorted(codes[r.option_id] for r in items))))
    return answers


def canonical(answers: Iterable[AnswerInput]) -> set[tuple]:
    """A comparable form of a set of answers (order of ticks and blank answers ignored)."""
    return {
        (a.question, a.slot, tuple(sorted(a.codes)), a.text.strip())
        for a in answers
        if a.codes or a.text.strip()
    }
