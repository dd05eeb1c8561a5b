"""KTO-style unpaired rows (TRL's unpaired preference form): each decided pair gives two rows,
``{"prompt", "completion", "label"}`` with ``label`` True for the chosen response and False for
the rejected one (standard form: strings), plus ``id``, ``model`` and ``provenance``."""

from __future__ import annotations

from collections.abc import Iterator

from annotate.exports.base import Exporter, prompt_text, provenance_type
from annotate.exports.pairs import iter_decided_pairs


class KTOExporter(Exporter):
    format_name = "kto"
    title = "KTO, unpaired"

    def iter_rows(self) -> Iterator[tuple[list, dict]]:
        for pair in iter_decided_pairs(self):
            prompt = prompt_text(pair.item.messages)
            for response, label in ((pair.chosen, True), (pair.rejected, False)):
                self.summary.written += 1
                yield pair.item.messages, {
                    "id": pair.item.external_id,
                    "prompt": prompt,
                    "completion": response.text,
                    "label": label,
                    "model": response.model_name,
                    "provenance": pair.provenance,
                }

    def arrow_schema(self):
        import pyarrow as pa

        return pa.schema(
            [
                ("id", pa.string()),
                ("prompt", pa.string()),
                ("completion", pa.string()),
                ("label", pa.bool_()),
                ("model", pa.string()),
                ("provenance", provenance_type()),
            ]
        )
