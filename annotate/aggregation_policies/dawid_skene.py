"""Dawid–Skene: a reliability-weighted label over humans, imported labels and LLM annotators
together, each annotator (pseudonym or ``model@prompt_version``) weighed by the confusion
matrix the EM fit estimates for them (``crowdkit.aggregation.DawidSkene``). Classes are the
directions A / B / tie. It must see every vote of the campaign at once
(:func:`aggregate_campaign`); :func:`aggregate` fits one instance alone (then it is close to
a plain majority). When the two most probable classes are equally probable the instance is a
split (``dawid_skene_tie``), never broken by order. ``agreement`` is the winner's posterior
probability; ``strength`` the mean overall preference of the votes on the winner's side."""

from __future__ import annotations

from collections.abc import Hashable, Mapping

from annotate.aggregation import AggregatedLabel, LabelProvenance, Vote, Winner, direction_of
from annotate.aggregation_policies import _sources

N_ITER = 100
TIE_TOLERANCE = 1e-9


def aggregate(votes: list[Vote]) -> AggregatedLabel:
    return aggregate_campaign({0: votes})[0]


def aggregate_campaign(votes_by_instance: Mapping[Hashable, list[Vote]]) -> dict[Hashable, AggregatedLabel]:
    import pandas as pd
    from crowdkit.aggregation import DawidSkene

    rows = [
        {"task": str(key), "worker": f"{v.source}:{v.who}", "label": direction_of(v.overall_preference).value}
        for key, votes in votes_by_instance.items()
        for v in votes
    ]
    posteriors = None
    if rows:
        posteriors = DawidSkene(n_iter=N_ITER).fit_predict_proba(pd.DataFrame(rows))
    labels: dict[Hashable, AggregatedLabel] = {}
    for key, votes in votes_by_instance.items():
        counts = _sources.counts(votes)
        if not votes or posteriors is None:
            labels[key] = AggregatedLabel(None, None, LabelProvenance.UNLABELLED, 0, 0, (), None)
            continue
        probabilities = posteriors.loc[str(key)].sort_values(ascending=False)
        versions = _sources.versions(votes)
        sources = {v.source for v in votes}
        source = next(iter(sources)) if len(sources) == 1 else "mixed"
        if len(probabilities) > 1 and probabilities.iloc[0] - probabilities.iloc[1] <= TIE_TOLERANCE:
            labels[key] = AggregatedLabel(
                None, None, LabelProvenance.DAWID_SKENE_TIE, models=(), agreement=None,
                guidelines_versions=versions, deciding_source=source, **counts,
            )
            continue
        winner = Winner(probabilities.index[0])
        winning = [v.overall_preference for v in votes if direction_of(v.overall_preference) == winner]
        labels[key] = AggregatedLabel(
            winner=winner,
            strength=sum(winning) / len(winning) if winning else None,
            provenance=LabelProvenance.DAWID_SKENE,
            models=tuple(sorted({v.who for v in votes if v.source == "llm"})),
            agreement=float(probabilities.iloc[0]),
            guidelines_versions=versions,
            deciding_source=source,
            **counts,
        )
    return labels
