"""RewardBench-style evaluation sets: ``prompt``, ``chosen``, ``chosen_model``, ``rejected``,
``rejected_model``, ``subset``, ``id``, from the decided pairs (ties, splits and unlabelled
items dropped and counted). ``subset`` is the instance's ``subset`` metadata when it has one,
else its ``category``, else the campaign's slug. Plus ``provenance``."""

from __future__ import annotations

from collections.abc import Iterator

from annotate.exports.base import Exporter, prompt_text, provenance_type
from annotate.exports.pairs import iter_decided_pairs


class RewardBenchExporter(Exporter):
    format_name = "rewardbench"
    title = "RewardBench-style evaluation set"

    def iter_rows(self) -> Iterator[tuple[list, dict]]:
        for pair in iter_decided_pairs(self):
            metadata = pair.item.metadata
            subset = metadata.get("subset") or metadata.get("category") or self.campaign.slug
            self.summary.written += 1
            yield pair.item.messages, {
                "prompt": prompt_text(pair.item.messages),
                "chosen": pair.chosen.text,
                "chosen_model": pair.chosen.model_name,
                "rejected": pair.rejected.text,
                "rejected_model": pair.rejected.model_name,
                "subset": str(subset),
                "id": pair.item.external_id,
                "provenance": pair.provenance,
            }

    def arrow_schema(self):
        import pyarrow as pa

        return pa.schema(
            [
                ("prompt", pa.string()),
                ("chosen", pa.string()),
                ("chosen_model", pa.string()),
                ("rejected", pa.string()),
                ("rejected_model", pa.string()),
                ("subset", pa.string()),
                ("id", pa.string()),
                ("provenance", provenance_type()),
            ]
        )
