"""Anthropic hh-rlhf: ``{"chosen": str, "rejected": str}`` whole transcripts
(``"\\n\\nHuman: …\\n\\nAssistant: …"``, the conversation then the final reply), from the decided
pairs (ties, splits and unlabelled items dropped and counted), plus ``id`` and ``provenance``.
The importer's reading inverted, so an imported hh-rlhf file exports the same transcripts."""

from __future__ import annotations

from collections.abc import Iterator

from annotate.exports.base import Exporter, plain_messages, provenance_type
from annotate.exports.pairs import iter_decided_pairs

_SPEAKER = {"user": "Human", "assistant": "Assistant"}


def transcript(messages: list, reply: str) -> str:
    turns = [(_SPEAKER.get(m["role"], "Human"), m["content"]) for m in plain_messages(messages)]
    turns.append(("Assistant", reply))
    return "".join(f"\n\n{speaker}: {content}" for speaker, content in turns)


class HHRLHFExporter(Exporter):
    format_name = "hh_rlhf"
    title = "Anthropic hh-rlhf transcripts"

    def iter_rows(self) -> Iterator[tuple[list, dict]]:
        for pair in iter_decided_pairs(self):
            self.summary.written += 1
            yield pair.item.messages, {
                "chosen": transcript(pair.item.messages, pair.chosen.text),
                "rejected": transcript(pair.item.messages, pair.rejected.text),
                "id": pair.item.external_id,
                "provenance": pair.provenance,
            }

    def arrow_schema(self):
        import pyarrow as pa

        return pa.schema(
            [("chosen", pa.string()), ("rejected", pa.string()), ("id", pa.string()), ("provenance", provenance_type())]
        )
