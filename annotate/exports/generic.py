"""The platform's own generic schema, as the generic importer reads it: one row per instance
with ``id``, ``messages``, ``responses`` (``{"model", "text"}`` in row order) and ``metadata``
(the instance's metadata object as JSON text, since it is free-form and a Parquet column has one
type; the importer accepts it back), plus what aggregating its labels decided: ``label``
(``"A"``, ``"B"``, ``"tie"`` or null for an unlabelled or split instance, A being the first
response) and ``provenance``. Every instance is written, labelled or not, so an exported
campaign re-imports whole; unlabelled and split instances are counted in the summary."""

from __future__ import annotations

import json
from collections.abc import Iterator

from annotate.exports.base import (
    Exporter,
    messages_type,
    plain_messages,
    provenance_of,
    provenance_type,
)
from annotate.selectors import iter_instances_with_votes


class GenericExporter(Exporter):
    format_name = "generic"
    title = "Generic instances (re-importable) with their aggregated label"

    def iter_rows(self) -> Iterator[tuple[list, dict]]:
        summary, options = self.summary, self.options
        for item in iter_instances_with_votes(campaign=self.campaign, labels=options.labels):
            summary.instances_seen += 1
            label = self.aggregate(instance_id=item.instance_id, votes=item.votes)
            if options.min_agreement is not None and (label.agreement or 0.0) < options.min_agreement:
                summary.skipped["below_agreement_threshold"] += 1
                continue
            # Undecided instances are written all the same (the row is the instance) and
            # counted under their provenance (unlabelled, human_split, ...).
            summary.count_label(label)
            summary.written += 1
            messages = plain_messages(item.messages)
            yield messages, {
                "id": item.external_id,
                "messages": messages,
                "responses": [{"model": r.model_name, "text": r.text} for r in item.responses],
                "metadata": json.dumps(item.metadata, ensure_ascii=False, sort_keys=True),
                "label": label.winner.value if label.winner else None,
                "provenance": provenance_of(
                    campaign=self.campaign, votes=item.votes, label=label, routing=self.routing.columns(item.instance_id)
                ),
            }

    def arrow_schema(self):
        import pyarrow as pa

        return pa.schema(
            [
                ("id", pa.string()),
                ("messages", messages_type()),
                ("responses", pa.list_(pa.struct([("model", pa.string()), ("text", pa.string())]))),
                ("metadata", pa.string()),
                ("label", pa.string()),
                ("provenance", provenance_type()),
            ]
        )
