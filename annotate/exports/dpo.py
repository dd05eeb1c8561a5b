"""DPO/TRL preference records, conversational form, with per-row provenance.

Each line: ``{"id", "prompt": [messages], "chosen": [assistant message],
"rejected": [assistant message], "margin", "chosen_model", "rejected_model",
"provenance": {...}}``. TRL has no tie label: ties, split votes and unlabelled
instances are left out and counted in the summary.

Guidelines in the provenance are those the deciding labels were made under (all labels
of the source that decided, see ``annotate.aggregation``), not the campaign's current
version: ``guidelines_versions`` is their sorted distinct versions, and
``guidelines_version`` is that version when there is exactly one, else null (labels
made under different guidelines have no single version to name).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from annotate.aggregation import Winner, aggregate_pairwise_votes, deciding_votes
from annotate.exports.base import Exporter
from annotate.selectors import iter_instances_with_votes


class DPOExporter(Exporter):
    format_name = "dpo"
    file_extension = "jsonl"
    content_type = "application/x-ndjson"

    def iter_lines(self) -> Iterator[str]:
        for item in iter_instances_with_votes(campaign=self.campaign):
            label = aggregate_pairwise_votes(item.votes)
            if label.winner is None:
                self.summary.skipped[label.provenance.value] += 1
                continue
            if label.winner == Winner.TIE:
                self.summary.skipped["tie"] += 1
                continue
            if len(item.responses) < 2:
                self.summary.skipped["fewer_than_two_responses"] += 1
                continue
            a, b = item.responses[0], item.responses[1]
            chosen, rejected = (a, b) if label.winner == Winner.A else (b, a)
            deciding_source = label.deciding_source
            deciding = deciding_votes(item.votes, label)
            versions = list(label.guidelines_versions)
            provenance = {
                "label_source": deciding_source,
                "aggregation": label.provenance.value,
                "n_human_labels": label.n_human,
                "n_imported_labels": label.n_imported,
                "n_llm_labels": label.n_llm,
                "agreement": label.agreement,
                "strength": label.strength,
                "annotators": sorted(v.who for v in deciding),
                "campaign": self.campaign.slug,
                "guidelines_version": versions[0] if len(versions) == 1 else None,
                "guidelines_versions": versions,
            }
            record = {
                "id": item.external_id,
                "prompt": item.messages,
                "chosen": [{"role": "assistant", "content": chosen.text}],
                "rejected": [{"role": "assistant", "content": rejected.text}],
                "margin": abs(label.strength or 0.0),
                "chosen_model": chosen.model_name,
                "rejected_model": rejected.model_name,
                "provenance": provenance,
            }
            self.summary.written += 1
            self.summary.by_provenance[label.provenance.value] += 1
            yield json.dumps(record, ensure_ascii=False) + "\n"
