"""Dataset exporters: one module per format, same shape, a registry keyed by format name."""

from __future__ import annotations

from annotate.exports.base import Exporter, ExportSummary
from annotate.exports.dpo import DPOExporter

EXPORTERS: dict[str, type[Exporter]] = {DPOExporter.format_name: DPOExporter}

__all__ = ["EXPORTERS", "ExportSummary", "Exporter", "get_exporter"]


def get_exporter(format_name: str) -> type[Exporter]:
    try:
        return EXPORTERS[format_name]
    except KeyError:
        known = ", ".join(sorted(EXPORTERS))
        raise ValueError(f"Unknown export format {format_name!r}; known: {known}.") from None
