"""Strict majority: ``annotate.aggregation.aggregate_pairwise_votes``, unchanged (the default)."""

from __future__ import annotations

from annotate.aggregation import AggregatedLabel, Vote, aggregate_pairwise_votes


def aggregate(votes: list[Vote]) -> AggregatedLabel:
    return aggregate_pairwise_votes(votes)
