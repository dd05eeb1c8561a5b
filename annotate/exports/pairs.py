"""Decided pairs: the instances whose aggregated label prefers one response, for the
pairwise formats (DPO in its forms, KTO). Ties, splits, unlabelled instances, labels below the
agreement threshold and instances with fewer than two responses are counted, never written."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from annotate.aggregation import AggregatedLabel, Winner
from annotate.exports.base import Exporter, provenance_of
from annotate.selectors import InstanceWithVotes, ResponseView, iter_instances_with_votes


@dataclass(frozen=True)
class DecidedPair:
    item: InstanceWithVotes
    label: AggregatedLabel
    chosen: ResponseView
    rejected: ResponseView
    provenance: dict

    @property
    def margin(self) -> float:
        """The preference strength of the winning side, unsigned (0..the scale's bound)."""
        return abs(self.label.strength or 0.0)


def iter_decided_pairs(exporter: Exporter) -> Iterator[DecidedPair]:
    summary, options = exporter.summary, exporter.options
    for item in iter_instances_with_votes(campaign=exporter.campaign, labels=options.labels):
        summary.instances_seen += 1
        label = exporter.aggregate(instance_id=item.instance_id, votes=item.votes)
        if label.winner is None:
            summary.skipped[label.provenance.value] += 1
            continue
        if label.winner == Winner.TIE:
            summary.skipped["tie"] += 1
            continue
        if len(item.responses) < 2:
            summary.skipped["fewer_than_two_responses"] += 1
            continue
        if options.min_agreement is not None and (label.agreement or 0.0) < options.min_agreement:
            summary.skipped["below_agreement_threshold"] += 1
            continue
        a, b = item.responses[0], item.responses[1]
        chosen, rejected = (a, b) if label.winner == Winner.A else (b, a)
        summary.count_label(label)
        provenance = provenance_of(
            campaign=exporter.campaign, votes=item.votes, label=label, routing=exporter.routing.columns(item.instance_id)
        )
        yield DecidedPair(item, label, chosen, rejected, provenance)
