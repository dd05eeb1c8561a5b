"""MultiPref (AI2), one comparison per line.

Columns read: ``comparison_id`` (the external id), ``text`` (the prompt, one user
turn), ``model_a``/``completion_a`` and ``model_b``/``completion_b`` (responses 0 and 1),
and ``prompt_id``, ``source``, ``category``, ``subject_study``,
``highest_level_degree``, which are kept in the instance's metadata when present.

Future work: ``normal_worker_annotations`` and ``expert_worker_annotations`` are not
imported yet; bringing them in as human Annotation rows (with the evaluator ids as
pseudonymous annotators and the 5-point labels mapped to -2..2) belongs to a later
importer version.
"""

from __future__ import annotations

from annotate.importers.base import (
    ParsedInstance,
    ParsedResponse,
    ResponseCount,
    RowChecker,
    RowImporter,
)

METADATA_COLUMNS = ("prompt_id", "source", "category", "subject_study", "highest_level_degree")


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
        )
