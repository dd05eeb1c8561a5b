from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from annotate.models import Campaign


@dataclass
class ExportSummary:
    """Counts an exporter fills while it streams; ``skipped`` says why rows were left out."""

    written: int = 0
    skipped: Counter = field(default_factory=Counter)
    by_provenance: Counter = field(default_factory=Counter)


class Exporter:
    format_name: ClassVar[str]
    file_extension: ClassVar[str]
    content_type: ClassVar[str]

    def __init__(self, *, campaign: Campaign) -> None:
        self.campaign = campaign
        self.summary = ExportSummary()

    def iter_lines(self) -> Iterator[str]:
        raise NotImplementedError
