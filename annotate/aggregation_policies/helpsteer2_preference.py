"""HelpSteer2-Preference: the label is the mean of the three closest preference strengths
(-3..3) of the deciding source; the instance is dropped (``strength_spread_too_wide``) when
those three span more than 2 points. With three or fewer votes all of them are used. When
several triples are equally close but their means differ, the instance is flagged
(``strength_ambiguous``) instead of picking one by order. The winner is the sign of the
mean (0 → tie); ``strength`` is the mean; ``agreement`` is the share of the three on the
winner's side."""

from __future__ import annotations

from annotate.aggregation import AggregatedLabel, LabelProvenance, Vote, direction_of
from annotate.aggregation_policies import _sources

MAX_SPREAD = 2


def closest_three(strengths: list[int]) -> list[list[int]]:
    """Every equally closest triple of ``strengths`` (all of them when three or fewer)."""
    ordered = sorted(strengths)
    if len(ordered) <= 3:
        return [ordered]
    windows = [ordered[i : i + 3] for i in range(len(ordered) - 2)]
    best = min(w[-1] - w[0] for w in windows)
    return [w for w in windows if w[-1] - w[0] == best]


def aggregate(votes: list[Vote]) -> AggregatedLabel:
    source, deciding = _sources.deciding_source(votes)
    counts = _sources.counts(votes)
    if source is None:
        return AggregatedLabel(None, None, LabelProvenance.UNLABELLED, 0, 0, (), None)
    versions = _sources.versions(deciding)
    triples = closest_three([v.overall_preference for v in deciding])
    means = {sum(t) / len(t) for t in triples}
    flagged = None
    if len(means) > 1:
        flagged = LabelProvenance.STRENGTH_AMBIGUOUS
    elif triples[0][-1] - triples[0][0] > MAX_SPREAD:
        flagged = LabelProvenance.STRENGTH_SPREAD_TOO_WIDE
    if flagged is not None:
        return AggregatedLabel(
            None, None, flagged, models=(), agreement=None,
            guidelines_versions=versions, deciding_source=source, **counts,
        )
    (mean,) = means
    winner = direction_of(mean)  # type: ignore[arg-type]  # a float's sign, as an int's
    chosen = triples[0]
    return AggregatedLabel(
        winner=winner,
        strength=mean,
        provenance=LabelProvenance.STRENGTH_MEAN,
        models=_sources.models(source, deciding),
        agreement=sum(direction_of(s) == winner for s in chosen) / len(chosen),
        guidelines_versions=versions,
        deciding_source=source,
        **counts,
    )
