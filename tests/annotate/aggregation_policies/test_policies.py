"""Each aggregation policy on crafted cases, hand-computed, including ties and 2–2 splits."""

from __future__ import annotations

import pytest

from annotate.aggregation import LabelProvenance, Vote, Winner, aggregate_pairwise_votes
from annotate.aggregation_policies import (
    AdjudicatedLabel,
    UnknownPolicy,
    aggregate_campaign_votes,
    aggregate_votes,
)
from annotate.aggregation_policies.helpsteer2_ratings import aggregate_ratings


def humans(*preferences: int) -> list[Vote]:
    return [Vote("human", p, f"h{i}") for i, p in enumerate(preferences)]


def llm(model: str, preference: int) -> Vote:
    return Vote("llm", preference, model)


# --- strict majority ---------------------------------------------------------------------------


@pytest.mark.parametrize("preferences", [(-2, -1, 1), (-1, 1, 1, 2), (-1, -1, 1, 1), (0, 0, 2)])
def test_strict_majority_is_aggregate_pairwise_votes_unchanged(preferences):
    votes = humans(*preferences)
    assert aggregate_votes(policy="strict_majority", votes=votes) == aggregate_pairwise_votes(votes)


def test_unknown_policy_is_refused_by_name():
    with pytest.raises(UnknownPolicy, match="'plurality'"):
        aggregate_votes(policy="plurality", votes=humans(1))


# --- MultiPref majority ------------------------------------------------------------------------


def test_multipref_merges_slightly_into_clearly():
    # -2 and -1 are both "A"; 2 A vs 1 B → A, strength (-2 + -1) / 2
    label = aggregate_votes(policy="multipref_majority", votes=humans(-2, -1, 1))
    assert (label.winner, label.strength, label.provenance) == (Winner.A, -1.5, LabelProvenance.HUMAN_MAJORITY)
    assert label.agreement == pytest.approx(2 / 3)


def test_multipref_plurality_decides_where_strict_majority_splits():
    votes = humans(1, 2, -1, 0)  # B twice, A once, tie once: no strict majority, but a plurality
    assert aggregate_pairwise_votes(votes).provenance == LabelProvenance.HUMAN_SPLIT
    label = aggregate_votes(policy="multipref_majority", votes=votes)
    assert (label.winner, label.strength, label.agreement) == (Winner.B, 1.5, 0.5)


def test_multipref_two_two_split_has_no_label():
    label = aggregate_votes(policy="multipref_majority", votes=humans(-1, -2, 1, 2))
    assert (label.winner, label.provenance) == (None, LabelProvenance.HUMAN_SPLIT)


def test_multipref_three_way_tie_is_a_split_not_the_first_vote():
    label = aggregate_votes(policy="multipref_majority", votes=humans(-1, 0, 1))
    assert (label.winner, label.provenance) == (None, LabelProvenance.HUMAN_SPLIT)


def test_multipref_tie_direction_can_win():
    label = aggregate_votes(policy="multipref_majority", votes=humans(0, 0, 1))
    assert (label.winner, label.strength) == (Winner.TIE, 0.0)


def test_multipref_humans_decide_over_llms():
    label = aggregate_votes(policy="multipref_majority", votes=[*humans(1), llm("m1", -2), llm("m2", -2)])
    assert (label.winner, label.provenance, label.n_llm) == (Winner.B, LabelProvenance.SINGLE_HUMAN, 2)


# --- HelpSteer2-Preference ---------------------------------------------------------------------


def test_helpsteer2_preference_means_the_three_closest_strengths():
    # sorted -3, 1, 2, 2: closest triple 1, 2, 2 (spread 1) → mean 5/3, B
    label = aggregate_votes(policy="helpsteer2_preference", votes=humans(2, -3, 1, 2))
    assert label.winner == Winner.B
    assert label.strength == pytest.approx(5 / 3)
    assert label.provenance == LabelProvenance.STRENGTH_MEAN
    assert label.agreement == 1.0


def test_helpsteer2_preference_drops_a_spread_over_two():
    # -2, 0, 1: spread 3 > 2
    label = aggregate_votes(policy="helpsteer2_preference", votes=humans(-2, 0, 1))
    assert (label.winner, label.provenance) == (None, LabelProvenance.STRENGTH_SPREAD_TOO_WIDE)


def test_helpsteer2_preference_keeps_a_spread_of_exactly_two():
    label = aggregate_votes(policy="helpsteer2_preference", votes=humans(-1, 0, 1))
    assert (label.winner, label.strength) == (Winner.TIE, 0.0)
    assert label.agreement == pytest.approx(1 / 3)


def test_helpsteer2_preference_two_two_split_is_flagged_not_ordered():
    # -2, -2, 2, 2: triples (-2, -2, 2) and (-2, 2, 2) both spread 4; means differ
    label = aggregate_votes(policy="helpsteer2_preference", votes=humans(-2, -2, 2, 2))
    assert (label.winner, label.provenance) == (None, LabelProvenance.STRENGTH_AMBIGUOUS)


def test_helpsteer2_preference_equally_close_triples_with_different_means_are_ambiguous():
    # -1, 0, 1, 2: (-1, 0, 1) and (0, 1, 2) both spread 2, means 0 and 1
    label = aggregate_votes(policy="helpsteer2_preference", votes=humans(-1, 0, 1, 2))
    assert label.provenance == LabelProvenance.STRENGTH_AMBIGUOUS


def test_helpsteer2_preference_with_two_votes_uses_both():
    label = aggregate_votes(policy="helpsteer2_preference", votes=humans(-3, -1))
    assert (label.winner, label.strength) == (Winner.A, -2.0)


# --- HelpSteer2 ratings ------------------------------------------------------------------------


def test_helpsteer2_ratings_round_the_mean_of_the_three_most_agreeing():
    # 0, 3, 3, 4: closest 3, 3, 4 (spread 1) → 10/3 = 3.33 → 3
    assert aggregate_ratings([3, 0, 4, 3]).score == 3
    assert aggregate_ratings([3, 0, 4, 3]).used == (3, 3, 4)


def test_helpsteer2_ratings_round_half_up():
    assert aggregate_ratings([2, 3]).score == 3  # 2.5 → 3, not banker's 2
    assert aggregate_ratings([1, 2]).score == 2


def test_helpsteer2_ratings_equally_agreeing_triples_are_ambiguous_not_ordered():
    # 0, 0, 4, 4: both triples spread 4, means 4/3 → 1 and 8/3 → 3
    result = aggregate_ratings([0, 0, 4, 4])
    assert (result.score, result.ambiguous, result.n) == (None, True, 4)


def test_helpsteer2_ratings_equally_agreeing_triples_with_one_rounded_score_decide():
    # 2, 2, 2, 2: both triples are 2, 2, 2 → 2; 3, 3, 4, 4: 10/3 → 3 and 11/3 → 4 differ
    assert aggregate_ratings([2, 2, 2, 2]).score == 2
    assert aggregate_ratings([3, 3, 4, 4]).ambiguous
    assert aggregate_ratings([]).score is None


def test_helpsteer2_ratings_policy_takes_its_pairwise_label_by_strict_majority():
    votes = humans(1, 1, -1)
    assert aggregate_votes(policy="helpsteer2_ratings", votes=votes) == aggregate_pairwise_votes(votes)


# --- Dawid–Skene -------------------------------------------------------------------------------


def test_dawid_skene_weighs_a_reliable_annotator_over_an_unreliable_one():
    # Annotators r1, r2, r3 agree on items 1–6; "noisy" contradicts them everywhere, and
    # "llm" sides with the majority. On item 7 only noisy and llm voted, and they disagree:
    # the fit trusts llm (always with the majority) over noisy (always against it).
    votes = {}
    for key in range(1, 7):
        votes[key] = [*humans(-2, -1, -2), Vote("human", 2, "noisy"), llm("judge@v1", -1)]
    votes[7] = [Vote("human", 2, "noisy"), llm("judge@v1", -1)]
    labels = aggregate_campaign_votes(policy="dawid_skene", votes_by_instance=votes)
    assert labels[7].winner == Winner.A
    assert labels[7].provenance == LabelProvenance.DAWID_SKENE
    assert labels[7].deciding_source == "mixed"
    assert labels[7].models == ("judge@v1",)
    assert labels[7].agreement > 0.5
    assert all(labels[key].winner == Winner.A for key in range(1, 7))


def test_dawid_skene_two_two_split_of_strangers_is_a_tie_not_the_first_vote():
    # One item, four annotators seen nowhere else, 2 A vs 2 B: the classes are equally probable.
    labels = aggregate_campaign_votes(policy="dawid_skene", votes_by_instance={1: humans(-1, -1, 1, 1)})
    assert (labels[1].winner, labels[1].provenance) == (None, LabelProvenance.DAWID_SKENE_TIE)


def test_dawid_skene_unlabelled_instance():
    labels = aggregate_campaign_votes(policy="dawid_skene", votes_by_instance={1: [], 2: humans(1)})
    assert labels[1].provenance == LabelProvenance.UNLABELLED
    assert labels[2].winner == Winner.B


# --- adjudication ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "policy", ["strict_majority", "multipref_majority", "helpsteer2_preference", "helpsteer2_ratings", "dawid_skene"]
)
def test_every_policy_returns_the_adjudication_as_adjudicated(policy):
    decision = AdjudicatedLabel(Winner.A, -1.0, "pm")
    label = aggregate_votes(policy=policy, votes=humans(-1, -1, 1, 1), adjudication=decision)
    assert (label.winner, label.strength, label.provenance) == (Winner.A, -1.0, LabelProvenance.ADJUDICATED)
    assert label.n_human == 4  # the annotators' votes are still counted
    by_campaign = aggregate_campaign_votes(
        policy=policy, votes_by_instance={9: humans(1, 1, 1)}, adjudications={9: decision}
    )
    assert by_campaign[9].provenance == LabelProvenance.ADJUDICATED
