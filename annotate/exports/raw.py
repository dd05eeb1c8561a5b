"""Raw per-annotation export: one row per label (human, imported and LLM) with every answer,
so nothing a project paid for is visible only in the admin.

Columns: ``id`` (the instance), ``annotation_id``, ``label_source`` (human / imported / llm),
``annotator`` (pseudonym, ``imported:<id>`` or ``model@prompt_version``), ``pool``,
``model_name``, ``prompt_version``, ``guidelines_version``, ``task_schema_version``,
``overall_preference``, ``confidence`` (an LLM's own), ``time_spent_seconds``, ``created_at``
(ISO 8601), ``revision``, ``answers`` (``{question, response_position, option, value, text}``
in question order; one entry per ticked option of a multiple-choice question), and
``aggregation``/``instance_label``: what aggregating the instance's labels decided, and
``route``/``expected_gain``/``routing_run``: the latest routing run's decision (null if none). Labels of
an instance below the agreement threshold are counted as dropped.
"""

from __future__ import annotations

from collections.abc import Iterator

from annotate.exports.base import Exporter
from annotate.selectors import iter_instances_with_annotations


class RawAnnotationsExporter(Exporter):
    format_name = "raw"
    title = "Raw per-annotation labels"

    def iter_rows(self) -> Iterator[tuple[list, dict]]:
        summary, options = self.summary, self.options
        for item in iter_instances_with_annotations(campaign=self.campaign, labels=options.labels):
            summary.instances_seen += 1
            if not item.annotations:
                summary.skipped["unlabelled"] += 1
                continue
            label = self.aggregate(instance_id=item.instance_id, votes=item.votes)
            if options.min_agreement is not None and (label.agreement or 0.0) < options.min_agreement:
                summary.skipped["below_agreement_threshold"] += len(item.annotations)
                continue
            summary.count_label(label)
            for a in item.annotations:
                self.summary.written += 1
                yield item.messages, {
                    "id": item.external_id,
                    "annotation_id": a.annotation_id,
                    "label_source": a.source,
                    "annotator": a.who,
                    "pool": a.pool,
                    "model_name": a.model_name,
                    "prompt_version": a.prompt_version,
                    "guidelines_version": a.guidelines_version,
                    "task_schema_version": a.task_schema_version,
                    "overall_preference": a.overall_preference,
                    "confidence": a.confidence,
                    "time_spent_seconds": a.time_spent_seconds,
                    "created_at": a.created_at.isoformat(),
                    "revision": a.revision,
                    "answers": [
                        {
                            "question": v.question,
                            "response_position": v.response_position,
                            "option": v.option,
                            "value": v.value,
                            "text": v.text,
                        }
                        for v in a.answers
                    ],
                    "aggregation": label.provenance.value,
                    "instance_label": label.winner.value if label.winner else None,
                    **self.routing.columns(item.instance_id),
                }

    def arrow_schema(self):
        import pyarrow as pa

        answer = pa.struct(
            [
                ("question", pa.string()),
                ("response_position", pa.int64()),
                ("option", pa.string()),
                ("value", pa.int64()),
                ("text", pa.string()),
            ]
        )
        return pa.schema(
            [
                ("id", pa.string()),
                ("annotation_id", pa.int64()),
                ("label_source", pa.string()),
                ("annotator", pa.string()),
                ("pool", pa.string()),
                ("model_name", pa.string()),
                ("prompt_version", pa.string()),
                ("guidelines_version", pa.int64()),
                ("task_schema_version", pa.int64()),
                ("overall_preference", pa.int64()),
                ("confidence", pa.float64()),
                ("time_spent_seconds", pa.float64()),
                ("created_at", pa.string()),
                ("revision", pa.int64()),
                ("answers", pa.list_(answer)),
                ("aggregation", pa.string()),
                ("instance_label", pa.string()),
                ("route", pa.string()),
                ("expected_gain", pa.float64()),
                ("routing_run", pa.int64()),
            ]
        )
