"""HelpSteer2 ratings: per response and attribute, the rounded (half up) mean of the three most
agreeing ratings (0..4), the smallest range; equally agreeing triples with different means are
flagged, never picked by order (:func:`aggregate_ratings`).

The ratings are per response, so they decide no pairwise label by themselves: a campaign on
this policy gets its pairwise label (the overall preference every HelpSteer2 template also
asks) by strict majority, and its per-response scores from :func:`aggregate_ratings` (the
``helpsteer2`` export)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from annotate.aggregation import AggregatedLabel, Vote, aggregate_pairwise_votes


def aggregate(votes: list[Vote]) -> AggregatedLabel:
    return aggregate_pairwise_votes(votes)


@dataclass(frozen=True)
class RatingAggregate:
    score: int | None  # None when nobody rated, or ambiguous
    used: tuple[int, ...]  # the ratings the score rests on
    n: int  # every rating given
    ambiguous: bool = False  # equally agreeing triples with different means


def aggregate_ratings(ratings: list[int]) -> RatingAggregate:
    if not ratings:
        return RatingAggregate(None, (), 0)
    ordered = sorted(ratings)
    windows = [ordered[i : i + 3] for i in range(max(1, len(ordered) - 2))]
    best = min(w[-1] - w[0] for w in windows)
    closest = [w for w in windows if w[-1] - w[0] == best]
    scores = {math.floor(sum(w) / len(w) + 0.5) for w in closest}
    if len(scores) > 1:
        return RatingAggregate(None, (), len(ratings), ambiguous=True)
    (score,) = scores
    return RatingAggregate(score, tuple(closest[0]), len(ratings))
