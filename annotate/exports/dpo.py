"""DPO/TRL preference records in TRL's three forms, with per-row provenance.

- ``dpo`` (conversational): ``prompt`` = the conversation's messages, ``chosen`` /
  ``rejected`` = one assistant message each.
- ``dpo_standard``: ``prompt``, ``chosen``, ``rejected`` as strings (a multi-turn prompt is
  written as ``role: content`` turns separated by blank lines).
- ``dpo_implicit``: no ``prompt``; ``chosen`` / ``rejected`` are the whole conversation
  ending in the assistant's answer.

Every row also has ``id``, ``chosen_model``, ``rejected_model``, ``provenance`` and, unless the
export leaves it out, ``margin`` (the winning side's preference strength, unsigned). TRL has no
tie label: ties, split votes and unlabelled instances are left out and counted in the summary.

Guidelines in the provenance are those the deciding labels were made under (all labels
of the source that decided, see ``annotate.aggregation``), not the campaign's current
version: ``guidelines_versions`` is their sorted distinct versions, and
``guidelines_version`` is that version when there is exactly one, else null (labels
made under different guidelines have no single version to name).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from annotate.exports.base import (
    Exporter,
    messages_type,
    plain_messages,
    prompt_text,
    provenance_type,
)
from annotate.exports.pairs import DecidedPair, iter_decided_pairs

if TYPE_CHECKING:
    import pyarrow as pa


class _PairExporter(Exporter):
    def iter_rows(self) -> Iterator[tuple[list, dict]]:
        for pair in iter_decided_pairs(self):
            record = {"id": pair.item.external_id, **self.pair_columns(pair)}
            if self.options.include_margin:
                record["margin"] = pair.margin
            record["chosen_model"] = pair.chosen.model_name
            record["rejected_model"] = pair.rejected.model_name
            record["provenance"] = pair.provenance
            self.summary.written += 1
            yield pair.item.messages, record

    def pair_columns(self, pair: DecidedPair) -> dict:
        raise NotImplementedError

    def pair_types(self) -> list[tuple[str, pa.DataType]]:
        raise NotImplementedError

    def arrow_schema(self) -> pa.Schema:
        import pyarrow as pa

        fields = [("id", pa.string()), *self.pair_types()]
        if self.options.include_margin:
            fields.append(("margin", pa.float64()))
        fields += [
            ("chosen_model", pa.string()),
            ("rejected_model", pa.string()),
            ("provenance", provenance_type()),
        ]
        return pa.schema(fields)


def _assistant(text: str) -> list[dict]:
    return [{"role": "assistant", "content": text}]


class DPOExporter(_PairExporter):
    format_name = "dpo"
    title = "DPO/TRL, conversational"

    def pair_columns(self, pair: DecidedPair) -> dict:
        return {
            "prompt": plain_messages(pair.item.messages),
            "chosen": _assistant(pair.chosen.text),
            "rejected": _assistant(pair.rejected.text),
        }

    def pair_types(self):
        return [("prompt", messages_type()), ("chosen", messages_type()), ("rejected", messages_type())]


class DPOStandardExporter(_PairExporter):
    format_name = "dpo_standard"
    title = "DPO/TRL, standard (strings)"

    def pair_columns(self, pair: DecidedPair) -> dict:
        return {"prompt": prompt_text(pair.item.messages), "chosen": pair.chosen.text, "rejected": pair.rejected.text}

    def pair_types(self):
        import pyarrow as pa

        return [("prompt", pa.string()), ("chosen", pa.string()), ("rejected", pa.string())]


class DPOImplicitPromptExporter(_PairExporter):
    format_name = "dpo_implicit"
    title = "DPO/TRL, implicit prompt"

    def pair_columns(self, pair: DecidedPair) -> dict:
        conversation = plain_messages(pair.item.messages)
        return {
            "chosen": conversation + _assistant(pair.chosen.text),
            "rejected": conversation + _assistant(pair.rejected.text),
        }

    def pair_types(self):
        return [("chosen", messages_type()), ("rejected", messages_type())]
