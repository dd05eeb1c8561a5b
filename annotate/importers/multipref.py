"""MultiPref (AI2), one comparison per line.

Columns read: ``comparison_id`` (the external id), ``text`` (the prompt, one user
turn), ``model_a``/``completion_a`` and ``model_b``/``completion_b`` (responses 0 and 1),
and ``prompt_id``, ``source``, ``category``, ``subject_study``,
``highest_level_degree``, which are kept in the instance's metadata when present.

``normal_worker_annotations`` and ``expert_worker_annotations`` become imported labels
(pools ``normal`` and ``expert``, the ``evaluator`` id as the external annotator): the
preferences answer ``overall``, ``helpfulness``, ``truthfulness`` and ``harmlessness`` (the
5-point codes as MultiPref writes them), the confidences ``<aspect>_confidence``, the ticked
reasons ``<aspect>_checked_reasons`` and the own reasons ``<aspect>_own_reason``, as in the
MultiPref task template; ``time_spent`` is read as seconds. Each annotation's record is also kept whole.
"""

from __future__ import annotations

from typing import Any

from annotate.importers.base import (
    ParsedAnswer,
    ParsedInstance,
    ParsedLabel,
    ParsedResponse,
    ResponseCount,
    RowChecker,
    RowImporter,
)

METADATA_COLUMNS = ("prompt_id", "source", "category", "subject_study", "highest_level_degree")
POOLS = (("normal_worker_annotations", "normal"), ("expert_worker_annotations", "expert"))
# MultiPref's annotation fields → the MultiPref template's question keys.
PREFERENCES = {
    "overall_pref": "overall",
    "helpful_pref": "helpfulness",
    "truthful_pref": "truthfulness",
    "harmless_pref": "harmlessness",
}
CONFIDENCES = {
    "overall_confidence": "overall_confidence",
    "helpful_confidence": "helpfulness_confidence",
    "truthful_confidence": "truthfulness_confidence",
    "harmless_confidence": "harmlessness_confidence",
}
REASONS = {
    "helpful_checked_reasons": "helpfulness_checked_reasons",
    "truthful_checked_reasons": "truthfulness_checked_reasons",
    "harmless_checked_reasons": "harmlessness_checked_reasons",
}
OWN_REASON = {
    "overall_own_reason": "overall_own_reason",
    "helpful_own_reason": "helpfulness_own_reason",
    "truthful_own_reason": "truthfulness_own_reason",
    "harmless_own_reason": "harmlessness_own_reason",
}


class MultiPrefImporter(RowImporter):
    name = "multipref"
    label = "MultiPref (comparison_id, text, model_a/completion_a, model_b/completion_b)"

    def parse_row(self, row: RowChecker, *, response_count: ResponseCount) -> ParsedInstance | None:
        # Always a pair (completion_a, completion_b), which every campaign accepts.
        external_id = row.identifier("comparison_id")
        prompt = row.text("text")
        completion_a = row.text("completion_a")
        completion_b = row.text("completion_b")
        model_a = row.model_name("model_a")
        model_b = row.model_name("model_b")
        metadata: dict[str, object] = {}
        for column in METADATA_COLUMNS:
            value = row.row.get(column)
            if value is None:
                continue
            if isinstance(value, (dict, list)):
                row.add(column, "must be a string, a number or null")
                continue
            metadata[column] = value
        labels = _labels(row)
        if (
            row.errors
            or external_id is None
            or prompt is None
            or completion_a is None
            or completion_b is None
        ):
            return None
        return ParsedInstance(
            line=row.line,
            external_id=external_id,
            messages=[{"role": "user", "content": prompt}],
            responses=[
                ParsedResponse(text=completion_a, model_name=model_a),
                ParsedResponse(text=completion_b, model_name=model_b),
            ],
            metadata=metadata,
            id_field="comparison_id",
            labels=labels,
        )


def _labels(row: RowChecker) -> tuple[ParsedLabel, ...]:
    labels: list[ParsedLabel] = []
    seen: dict[tuple[str, str], str] = {}
    for column, pool in POOLS:
        value = row.row.get(column)
        if value is None:
            continue
        if not isinstance(value, list):
            row.add(column, "must be a list of annotations")
            continue
        for i, item in enumerate(value):
            where = f"{column}[{i}]"
            if not isinstance(item, dict):
                row.add(where, "must be an object")
                continue
            label = _label(row, item, where=where, pool=pool)
            if label is None:
                continue
            first = seen.setdefault((label.annotator, pool), where)
            if first != where:
                row.add(f"{where}.evaluator", f'"{label.annotator}" already annotated this row ({first})')
                continue
            labels.append(label)
    return tuple(labels)


def _label(row: RowChecker, item: dict[str, Any], *, where: str, pool: str) -> ParsedLabel | None:
    evaluator = item.get("evaluator")
    if isinstance(evaluator, (int, float)) and not isinstance(evaluator, bool):
        evaluator = str(evaluator)
    if not isinstance(evaluator, str) or not evaluator.strip():
        row.add(f"{where}.evaluator", "must be a non-empty string")
        return None
    answers: list[ParsedAnswer] = []
    for source, key in {**PREFERENCES, **CONFIDENCES}.items():
        value = item.get(source)
        if value is None:
            continue
        if not isinstance(value, str):
            row.add(f"{where}.{source}", "must be a string")
            continue
        answers.append(ParsedAnswer(question=key, codes=(value,), field=source))
    for source, key in REASONS.items():
        value = item.get(source)
        if value is None or value == []:
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            row.add(f"{where}.{source}", "must be a list of strings")
            continue
        codes = tuple(v.strip().replace(" ", "-") for v in value)
        answers.append(ParsedAnswer(question=key, codes=codes, field=source))
    for source, key in OWN_REASON.items():
        value = item.get(source)
        if isinstance(value, str) and value.strip():
            answers.append(ParsedAnswer(question=key, text=value, field=source))
    time_spent = item.get("time_spent")
    if time_spent is not None and (
        isinstance(time_spent, bool) or not isinstance(time_spent, (int, float)) or time_spent < 0
    ):
        row.add(f"{where}.time_spent", "must be a number of seconds")
        time_spent = None
    return ParsedLabel(
        annotator=evaluator.strip()[:200],
        field=where,
        pool=pool,
        answers=tuple(answers),
        time_spent_seconds=float(time_spent) if time_spent is not None else None,
        raw=item,
    )
