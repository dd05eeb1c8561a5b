"""MultiPref majority: "slightly" is merged into "clearly" (only the direction A / B / tie of
each overall preference counts) and the direction with the most votes wins, a plurality
(2 A, 1 B, 1 tie → A, which strict majority calls a split). When two directions share the
top count (2–2, 1–1–1) the instance is a split with no label, never broken by order.
Provenance names the source as strict majority does (``single_human``, ``human_majority``, …)."""

from __future__ import annotations

from collections import Counter

from annotate.aggregation import AggregatedLabel, LabelProvenance, Vote, direction_of
from annotate.aggregation_policies import _sources


def aggregate(votes: list[Vote]) -> AggregatedLabel:
    source, deciding = _sources.deciding_source(votes)
    counts = _sources.counts(votes)
    if source is None:
        return AggregatedLabel(None, None, LabelProvenance.UNLABELLED, 0, 0, (), None)
    versions = _sources.versions(deciding)
    ranked = Counter(direction_of(v.overall_preference) for v in deciding).most_common()
    top, top_count = ranked[0]
    if len(ranked) > 1 and ranked[1][1] == top_count:
        return AggregatedLabel(
            None, None, _sources.SPLIT[source], models=(), agreement=None,
            guidelines_versions=versions, deciding_source=source, **counts,
        )
    winning = [v.overall_preference for v in deciding if direction_of(v.overall_preference) == top]
    single = len(deciding) == 1
    if source == "human":
        provenance = LabelProvenance.SINGLE_HUMAN if single else LabelProvenance.HUMAN_MAJORITY
    elif source == "imported":
        provenance = LabelProvenance.SINGLE_IMPORTED if single else LabelProvenance.IMPORTED_MAJORITY
    else:
        models = _sources.models(source, deciding)
        if any(v.who.split("@")[0] == "jury" for v in deciding):
            provenance = LabelProvenance.LLM_JURY
        else:
            provenance = LabelProvenance.LLM if len(models) == 1 else LabelProvenance.LLM_MAJORITY
    return AggregatedLabel(
        winner=top,
        strength=sum(winning) / len(winning),
        provenance=provenance,
        models=_sources.models(source, deciding),
        agreement=top_count / len(deciding),
        guidelines_versions=versions,
        deciding_source=source,
        **counts,
    )
