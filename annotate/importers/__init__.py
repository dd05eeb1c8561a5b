"""Import formats, one module each, registered by name.

Every importer reads JSON Lines (gzip detected by its magic bytes) and yields parsed
instances or row errors without touching the database, holding as many responses per
instance as the campaign accepts (a :class:`ResponseCount`); ``annotate.services.imports``
picks that count from the campaign, checks ids against it and writes.
"""

from __future__ import annotations

from annotate.importers.base import (
    Importer,
    ParsedInstance,
    ParsedResponse,
    ResponseCount,
    RowError,
)
from annotate.importers.generic import GenericImporter
from annotate.importers.helpsteer2 import HelpSteer2Importer
from annotate.importers.hh_rlhf import HhRlhfImporter
from annotate.importers.multipref import MultiPrefImporter

IMPORT_FORMATS: dict[str, Importer] = {
    importer.name: importer
    for importer in (
        GenericImporter(),
        MultiPrefImporter(),
        HelpSteer2Importer(),
        HhRlhfImporter(),
    )
}


def get_importer(name: str) -> Importer | None:
    return IMPORT_FORMATS.get(name)


__all__ = [
    "IMPORT_FORMATS",
    "Importer",
    "ParsedInstance",
    "ParsedResponse",
    "ResponseCount",
    "RowError",
    "get_importer",
]
