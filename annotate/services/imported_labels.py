"""Labels that come with an imported file (MultiPref workers, HelpSteer2's released ratings,
hh-rlhf's chosen response) become Annotation rows with source ``imported``.

Each label's answers are checked against the campaign's task schema like any other label.
An answer to a question the task does not ask (no question of that key, or one about the
pair where the dataset rates each response) is not an error: it is counted (per question
key) in the import summary, and the source record is kept whole in the label's raw output,
so nothing the dataset says is lost.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from annotate.importers.base import ParsedInstance, ParsedLabel, RowError
from annotate.models import Annotation, AnnotationSource, AnswerValue, Campaign
from annotate.services.answers import AnswerInput, AnswersRejected, CheckedAnswers, check_answers
from annotate.services.task_schemas import QuestionView, SchemaView


@dataclass(frozen=True)
class CheckedLabel:
    label: ParsedLabel
    answers: CheckedAnswers


@dataclass
class LabelCheck:
    labels: list[CheckedLabel]
    errors: list[RowError]
    not_in_task: Counter


def check_imported_labels(*, schema: SchemaView, item: ParsedInstance) -> LabelCheck:
    checked: list[CheckedLabel] = []
    errors: list[RowError] = []
    not_in_task: Counter = Counter()
    for label in item.labels:
        errors_before = len(errors)
        answers: list[AnswerInput] = []
        for answer in label.answers:
            question = schema.by_key.get(answer.question)
            # A question of that name about something else (e.g. the pairwise aspect
            # "helpfulness" for a per-response rating) is not the same question.
            if question is None or question.per_response != (answer.position is not None):
                not_in_task[answer.question] += 1
                continue
            codes = tuple(_code_for(question, code) for code in answer.codes)
            unknown = [code for code in codes if code not in question.option_by_code]
            if unknown:
                allowed = ", ".join(o.code for o in question.options)
                where = f"{label.field}.{answer.field}" if answer.field else label.field
                errors.append(RowError(item.line, where, f'"{unknown[0]}" is not one of {allowed}'))
                continue
            answers.append(AnswerInput(question=answer.question, slot=answer.position, codes=codes, text=answer.text))
        if label.preferred is not None:
            preferred = _preferred_answer(schema, label.preferred)
            if preferred is None:
                not_in_task["overall"] += 1
            else:
                answers.append(preferred)
        if len(errors) > errors_before:
            continue
        try:
            result = check_answers(
                schema=schema, answers=answers, n_responses=len(item.responses), enforce_required=False
            )
        except AnswersRejected as exc:
            errors.append(RowError(item.line, label.field, str(exc)))
            continue
        checked.append(CheckedLabel(label=label, answers=result))
    return LabelCheck(labels=checked, errors=errors, not_in_task=not_in_task)


def _code_for(question: QuestionView, code: str) -> str:
    """Codes as the dataset writes them; for numeric scales a value ("3") also names its option."""
    if code in question.option_by_code:
        return code
    try:
        option = question.option_with_value(int(code))
    except ValueError:
        return code
    return option.code if option is not None else code


def _preferred_answer(schema: SchemaView, side: str) -> AnswerInput | None:
    """A bare "A won" / "B won" as the mildest preference for that side on the overall scale:
    the dataset says which response won, not by how much."""
    primary = schema.primary
    if primary is None:
        return None
    values = sorted(o.value for o in primary.options if o.value is not None and o.value != 0)
    side_values = [v for v in values if (v < 0) == (side == "A")]
    if not side_values:
        return None
    mildest = min(side_values, key=abs)
    return AnswerInput(question=primary.key, codes=(primary.option_with_value(mildest).code,))


def write_imported_labels(
    *, campaign: Campaign, schema: SchemaView, instance_id: int, labels: list[CheckedLabel]
) -> list[tuple[Annotation, CheckedAnswers]]:
    """Unsaved annotations for one instance's labels (the caller bulk-inserts them)."""
    return [
        (
            Annotation(
                campaign=campaign,
                instance_id=instance_id,
                source=AnnotationSource.IMPORTED,
                external_annotator=checked.label.annotator,
                pool=checked.label.pool,
                task_schema_id=schema.id,
                raw_output=checked.label.raw,
                overall_preference=checked.answers.overall_preference,
                time_spent_seconds=checked.label.time_spent_seconds,
            ),
            checked.answers,
        )
        for checked in labels
    ]


def insert_imported_labels(pairs: list[tuple[Annotation, CheckedAnswers]], *, batch_size: int) -> int:
    if not pairs:
        return 0
    annotations = Annotation.objects.bulk_create([a for a, _ in pairs], batch_size=batch_size)
    rows: list[AnswerValue] = []
    for annotation, answers in zip(annotations, (c for _, c in pairs), strict=True):
        for row in answers.rows:
            rows.append(
                AnswerValue(
                    annotation=annotation, question_id=row.question_id, response_position=row.response_position,
                    option_id=row.option_id, value=row.value, text=row.text, multiple=row.multiple,
                )
            )
    AnswerValue.objects.bulk_create(rows, batch_size=batch_size)
    return len(annotations)


__all__ = ["check_imported_labels", "insert_imported_labels", "write_imported_labels"]
