"""Aggregation policies: how one instance's votes become its final label, chosen per campaign
(``Campaign.aggregation_policy``). One module per policy with the same shape, a registry keyed
by :class:`~annotate.models.AggregationPolicy`, and one entry point, :func:`aggregate_votes`.

Every policy is pure (plain values in, :class:`~annotate.aggregation.AggregatedLabel` out).
A PM's adjudication, when there is one, decides the label under every policy (provenance
``adjudicated``); the annotators' votes are still counted beside it. Dawid–Skene needs every
vote of the campaign at once, so it also has a campaign-level function
(:func:`annotate.aggregation_policies.dawid_skene.aggregate_campaign`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from annotate.aggregation import AggregatedLabel, LabelProvenance, Vote, Winner
from annotate.aggregation_policies import (
    dawid_skene,
    helpsteer2_preference,
    helpsteer2_ratings,
    multipref_majority,
    strict_majority,
)

PolicyFunction = Callable[[list[Vote]], AggregatedLabel]

# Keyed by AggregationPolicy's values (plain strings, so this module needs no Django).
POLICIES: dict[str, PolicyFunction] = {
    "strict_majority": strict_majority.aggregate,
    "multipref_majority": multipref_majority.aggregate,
    "helpsteer2_preference": helpsteer2_preference.aggregate,
    "helpsteer2_ratings": helpsteer2_ratings.aggregate,
    "dawid_skene": dawid_skene.aggregate,
}


@dataclass(frozen=True)
class AdjudicatedLabel:
    """The PM's final label of an instance (the current :class:`~annotate.models.Adjudication`)."""

    winner: Winner
    strength: float | None
    decided_by: str


class UnknownPolicy(ValueError):
    pass


def aggregate_votes(
    *, policy: str, votes: Iterable[Vote], adjudication: AdjudicatedLabel | None = None
) -> AggregatedLabel:
    """The instance's final label under ``policy``; an adjudication overrides every policy.

    Raises :class:`UnknownPolicy` for a policy not in :data:`POLICIES`."""
    try:
        function = POLICIES[policy]
    except KeyError:
        raise UnknownPolicy(f"unknown aggregation policy {policy!r}") from None
    label = function(list(votes))
    return adjudicated(label, adjudication) if adjudication is not None else label


def label_of_instance(
    *,
    policy: str,
    instance_id: int,
    votes: Iterable[Vote],
    adjudications: Mapping[int, AdjudicatedLabel],
    campaign_fit: Callable[[], Mapping[int, AggregatedLabel]],
) -> AggregatedLabel:
    """One instance's label under ``policy``, the PM's adjudication winning. Dawid–Skene needs
    every vote of the campaign: ``campaign_fit`` gives that fit (the caller decides whether to
    memoise it); the other policies read only ``votes``."""
    if policy == "dawid_skene":
        return campaign_fit()[instance_id]
    return aggregate_votes(policy=policy, votes=votes, adjudication=adjudications.get(instance_id))


def adjudicated(label: AggregatedLabel, adjudication: AdjudicatedLabel) -> AggregatedLabel:
    """``label`` decided by the PM instead: the counts stay, the winner is the adjudication's."""
    return AggregatedLabel(
        winner=adjudication.winner,
        strength=adjudication.strength,
        provenance=LabelProvenance.ADJUDICATED,
        n_human=label.n_human,
        n_llm=label.n_llm,
        models=(),
        agreement=None,
        guidelines_versions=(),
        n_imported=label.n_imported,
        deciding_source="adjudication",
    )


def aggregate_campaign_votes(
    *,
    policy: str,
    votes_by_instance: Mapping[int, list[Vote]],
    adjudications: Mapping[int, AdjudicatedLabel] | None = None,
) -> dict[int, AggregatedLabel]:
    """Every instance's label under ``policy`` at once (Dawid–Skene fits all votes together;
    the other policies go instance by instance)."""
    adjudications = adjudications or {}
    if policy == "dawid_skene":
        labels = dawid_skene.aggregate_campaign(votes_by_instance)
    else:
        if policy not in POLICIES:
            raise UnknownPolicy(f"unknown aggregation policy {policy!r}")
        labels = {key: POLICIES[policy](list(votes)) for key, votes in votes_by_instance.items()}
    return {
        key: adjudicated(label, adjudications[key]) if key in adjudications else label
        for key, label in labels.items()
    }
