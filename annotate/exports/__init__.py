"""Dataset exporters: one module per format, same shape, a registry keyed by format name."""

from __future__ import annotations

from annotate.exports.base import Exporter, ExportOptions, ExportSummary
from annotate.exports.dpo import DPOExporter, DPOImplicitPromptExporter, DPOStandardExporter
from annotate.exports.generic import GenericExporter
from annotate.exports.helpsteer2 import HelpSteer2DisagreementsExporter, HelpSteer2Exporter
from annotate.exports.helpsteer_preference import (
    HelpSteer2PreferenceExporter,
    HelpSteer3PreferenceExporter,
)
from annotate.exports.hh_rlhf import HHRLHFExporter
from annotate.exports.kto import KTOExporter
from annotate.exports.multipref import MultiPrefBinarizedExporter, MultiPrefExporter
from annotate.exports.raw import RawAnnotationsExporter
from annotate.exports.rewardbench import RewardBenchExporter
from annotate.exports.ultrafeedback import UltraFeedbackBinarizedExporter, UltraFeedbackExporter

EXPORTERS: dict[str, type[Exporter]] = {
    exporter.format_name: exporter
    for exporter in (
        DPOExporter,
        DPOStandardExporter,
        DPOImplicitPromptExporter,
        KTOExporter,
        RawAnnotationsExporter,
        MultiPrefExporter,
        MultiPrefBinarizedExporter,
        HelpSteer2Exporter,
        HelpSteer2DisagreementsExporter,
        HelpSteer2PreferenceExporter,
        HelpSteer3PreferenceExporter,
        UltraFeedbackExporter,
        UltraFeedbackBinarizedExporter,
        RewardBenchExporter,
        HHRLHFExporter,
        GenericExporter,
    )
}

__all__ = ["EXPORTERS", "ExportOptions", "ExportSummary", "Exporter", "get_exporter"]


def get_exporter(format_name: str) -> type[Exporter]:
    try:
        return EXPORTERS[format_name]
    except KeyError:
        known = ", ".join(sorted(EXPORTERS))
        raise ValueError(f"Unknown export format {format_name!r}; known: {known}.") from None
