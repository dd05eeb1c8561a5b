"""The shape every exporter shares: options, per-row provenance, the dropped-row counts.

An exporter yields ``(prompt_messages, record)`` pairs from :meth:`Exporter.iter_rows`; the
record is one row of the format (plain JSON values), the prompt messages decide its
train/validation split. :meth:`Exporter.arrow_schema` is the row's fixed Parquet schema, so a
file is written batch by batch without inferring types (pyarrow is imported only there).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from annotate.aggregation import AggregatedLabel, Vote, deciding_votes
from annotate.aggregation_policies import label_of_instance
from annotate.exports.routing_hook import RoutingWindow
from annotate.models import Campaign
from annotate.selectors import LabelFilter, campaign_labels, current_adjudications

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass
class ExportSummary:
    """Counts an exporter fills while it streams; ``skipped`` says why rows were left out,
    ``flagged`` which values were written empty because the policy would not settle them."""

    written: int = 0
    skipped: Counter = field(default_factory=Counter)
    flagged: Counter = field(default_factory=Counter)
    by_provenance: Counter = field(default_factory=Counter)
    by_label_source: Counter = field(default_factory=Counter)
    guidelines_versions: Counter = field(default_factory=Counter)
    instances_seen: int = 0
    agreement_sum: float = 0.0
    agreement_n: int = 0

    def count_label(self, label: AggregatedLabel) -> None:
        self.by_provenance[label.provenance.value] += 1
        self.by_label_source[label.deciding_source or "none"] += 1
        for version in label.guidelines_versions:
            self.guidelines_versions[str(version)] += 1
        if label.agreement is not None:
            self.agreement_sum += label.agreement
            self.agreement_n += 1

    @property
    def mean_agreement(self) -> float | None:
        return self.agreement_sum / self.agreement_n if self.agreement_n else None


@dataclass(frozen=True)
class ExportOptions:
    """What an export keeps. ``min_agreement``: drop labels whose deciding votes agree less
    (a share, 0..1). ``include_margin``: the pairwise formats' ``margin`` column."""

    labels: LabelFilter = field(default_factory=LabelFilter)
    min_agreement: float | None = None
    include_margin: bool = True

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> ExportOptions:
        def when(name: str) -> datetime | None:
            raw = params.get(name)
            return datetime.fromisoformat(raw) if raw else None

        return cls(
            labels=LabelFilter(
                sources=tuple(params.get("sources") or ()),
                pools=tuple(params.get("pools") or ()),
                created_from=when("created_from"),
                created_to=when("created_to"),
            ),
            min_agreement=params.get("min_agreement"),
            include_margin=params.get("include_margin", True),
        )


class Exporter:
    format_name: ClassVar[str]
    title: ClassVar[str]
    file_extension: ClassVar[str] = "jsonl"
    content_type: ClassVar[str] = "application/x-ndjson"

    def __init__(self, *, campaign: Campaign, options: ExportOptions | None = None) -> None:
        self.campaign = campaign
        self.options = options or ExportOptions()
        self.summary = ExportSummary()
        self.routing = RoutingWindow(campaign_id=campaign.pk)
        self.policy = campaign.aggregation_policy
        self.adjudications = current_adjudications(campaign=campaign)
        self._campaign_fit: dict[int, AggregatedLabel] | None = None

    def aggregate(self, *, instance_id: int, votes: list[Vote]) -> AggregatedLabel:
        """The instance's label under the campaign's aggregation policy; the PM's adjudication
        when there is one. Dawid–Skene is fitted once over every vote of the campaign the
        export's label filter admits (so its label does not change with a format's own vote
        selection)."""
        return label_of_instance(
            policy=self.policy,
            instance_id=instance_id,
            votes=votes,
            adjudications=self.adjudications,
            campaign_fit=self._fit_campaign,
        )

    def _fit_campaign(self) -> dict[int, AggregatedLabel]:
        if self._campaign_fit is None:
            self._campaign_fit = campaign_labels(campaign=self.campaign, labels=self.options.labels)
        return self._campaign_fit

    def rater_provenance(self, *, item, source: str, raters: list, aggregation: str) -> dict:
        """The provenance column of a row decided by the ratings or strengths of ``raters``
        (all of ``source``; formats that aggregate per response have no agreement or
        strength), counted in the summary."""
        versions = sorted({a.guidelines_version for a in raters if a.guidelines_version is not None})
        for version in versions:
            self.summary.guidelines_versions[str(version)] += 1
        self.summary.by_label_source[source] += 1
        self.summary.by_provenance[aggregation] += 1
        return {
            "label_source": source,
            "label_models": sorted({a.who for a in raters if a.source == "llm"}),
            "aggregation": aggregation,
            "n_human_labels": sum(a.source == "human" for a in item.annotations),
            "n_imported_labels": sum(a.source == "imported" for a in item.annotations),
            "n_llm_labels": sum(a.source == "llm" for a in item.annotations),
            "agreement": None,
            "strength": None,
            "annotators": [a.who for a in raters],
            "pools": sorted({a.pool for a in raters}),
            "campaign": self.campaign.slug,
            "guidelines_version": versions[0] if len(versions) == 1 else None,
            "guidelines_versions": versions,
            **self.routing.columns(item.instance_id),
        }

    def iter_rows(self) -> Iterator[tuple[list, dict]]:
        """``(prompt messages, record)`` per row, counting into :attr:`summary`."""
        raise NotImplementedError

    def arrow_schema(self) -> pa.Schema:
        raise NotImplementedError

    def iter_records(self) -> Iterator[dict]:
        for _prompt, record in self.iter_rows():
            yield record

    def iter_lines(self) -> Iterator[str]:
        for record in self.iter_records():
            yield json.dumps(record, ensure_ascii=False) + "\n"


# --- Shared pieces ------------------------------------------------------------------------------


def provenance_of(*, campaign: Campaign, votes: list[Vote], label: AggregatedLabel, routing: dict) -> dict:
    """Where a row's label came from: the deciding source, the LLMs (``model@prompt_version``)
    and pseudonymous annotators whose votes decided, their pools, the guidelines they were made
    under (``guidelines_version`` only when there is exactly one), what aggregation decided, and
    the latest routing run's decision for the instance (``route``, ``expected_gain``,
    ``routing_run``; null when the instance was never routed), from :class:`RoutingWindow`."""
    deciding = deciding_votes(votes, label)
    versions = list(label.guidelines_versions)
    return {
        "label_source": label.deciding_source,
        "label_models": sorted({v.who for v in deciding if v.source == "llm"}),
        "aggregation": label.provenance.value,
        "n_human_labels": label.n_human,
        "n_imported_labels": label.n_imported,
        "n_llm_labels": label.n_llm,
        "agreement": label.agreement,
        "strength": label.strength,
        "annotators": sorted(v.who for v in deciding),
        "pools": sorted({v.pool for v in deciding}),
        "campaign": campaign.slug,
        "guidelines_version": versions[0] if len(versions) == 1 else None,
        "guidelines_versions": versions,
        **routing,
    }


def provenance_type() -> pa.DataType:
    import pyarrow as pa

    return pa.struct(
        [
            ("label_source", pa.string()),
            ("label_models", pa.list_(pa.string())),
            ("aggregation", pa.string()),
            ("n_human_labels", pa.int64()),
            ("n_imported_labels", pa.int64()),
            ("n_llm_labels", pa.int64()),
            ("agreement", pa.float64()),
            ("strength", pa.float64()),
            ("annotators", pa.list_(pa.string())),
            ("pools", pa.list_(pa.string())),
            ("campaign", pa.string()),
            ("guidelines_version", pa.int64()),
            ("guidelines_versions", pa.list_(pa.int64())),
            ("route", pa.string()),
            ("expected_gain", pa.float64()),
            ("routing_run", pa.int64()),
        ]
    )


def messages_type() -> pa.DataType:
    import pyarrow as pa

    return pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))


def plain_messages(messages: list) -> list[dict]:
    """The conversation as ``{"role", "content"}`` messages (other keys left out)."""
    return [{"role": m.get("role", "user"), "content": m.get("content", "")} for m in messages]


def prompt_text(messages: list) -> str:
    """The prompt as one string: a single user turn as it is; a longer conversation as
    ``role: content`` turns separated by blank lines."""
    plain = plain_messages(messages)
    if len(plain) == 1 and plain[0]["role"] == "user":
        return plain[0]["content"]
    return "\n\n".join(f"{m['role']}: {m['content']}" for m in plain)
