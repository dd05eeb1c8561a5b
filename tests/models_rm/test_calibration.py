"""Strength cut points set a priori on a judge's own out-of-fold accuracy (models_rm.calibration)."""

from __future__ import annotations

import numpy as np
import pytest

from models_rm.calibration import (
    accuracy_cut_margins,
    calibrate_strength_thresholds,
    cross_fitted_prob_chosen,
    fold_assignment,
    judge_is_right,
    orient_pairs,
    prob_a_cut,
    strength_shares,
)
from models_rm.heads import BradleyTerryHead


def bands(*groups: tuple[float, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Margins and correctness with a known accuracy per margin: ``(margin, pairs, right)``."""
    margins, correct = [], []
    for margin, pairs, right in groups:
        margins += [margin] * pairs
        correct += [1.0] * right + [0.0] * (pairs - right)
    return np.array(margins), np.array(correct)


def test_cut_points_are_the_smallest_margins_where_accuracy_reaches_55_and_75_percent():
    margins, correct = bands((0.1, 100, 50), (0.3, 100, 60), (0.6, 100, 80), (0.9, 100, 90))

    assert accuracy_cut_margins(margins=margins, correct=correct) == (0.3, 0.6)
    assert (prob_a_cut(0.3), prob_a_cut(0.6)) == (0.65, 0.8)


def test_clearly_is_never_used_when_the_accuracy_never_reaches_75_percent():
    margins, correct = bands((0.1, 100, 50), (0.5, 100, 60), (0.9, 100, 70))
    assert accuracy_cut_margins(margins=margins, correct=correct) == (0.5, None)
    assert prob_a_cut(None) is None

    # Below 55% everywhere: not even "slightly".
    margins, correct = bands((0.1, 100, 50), (0.9, 100, 54))
    assert accuracy_cut_margins(margins=margins, correct=correct) == (None, None)


def test_a_dip_in_accuracy_is_pooled_by_the_monotone_fit():
    # 60% at 0.1 then 50% at 0.3 violate monotonicity: the isotonic fit pools them to 55%, so
    # "slightly" starts at 0.1, not where a raw 60% would put it by chance.
    margins, correct = bands((0.1, 100, 60), (0.3, 100, 50), (0.6, 100, 80))

    assert accuracy_cut_margins(margins=margins, correct=correct) == (0.1, 0.6)


def test_labels_and_shares_follow_the_cut_points_on_both_sides():
    prob_a = np.array([0.5, 0.52, 0.48, 0.7, 0.3, 0.9, 0.1, 0.6])
    correct = np.array([0.5, 1, 0, 1, 1, 1, 0, 1])

    shares = strength_shares(
        prob_a=prob_a, correct=correct, slightly_prob_a=0.55, clearly_prob_a=0.8
    )
    assert (shares.tie, shares.slightly, shares.clearly) == (0.375, 0.375, 0.25)
    assert (shares.accuracy_slightly, shares.accuracy_clearly) == (1.0, 0.5)

    at_most_slightly = strength_shares(
        prob_a=prob_a, correct=correct, slightly_prob_a=0.55, clearly_prob_a=None
    )
    assert (at_most_slightly.tie, at_most_slightly.clearly) == (0.375, 0.0)
    assert at_most_slightly.accuracy_clearly is None


def test_the_judges_side_is_right_when_it_points_at_the_chosen_reply():
    prob_a = np.array([0.7, 0.7, 0.3, 0.3, 0.5])
    a_is_chosen = np.array([True, False, True, False, True])

    assert judge_is_right(prob_a, a_is_chosen).tolist() == [1.0, 0.0, 0.0, 1.0, 0.5]


def synthetic_pairs(n: int = 200, dim: int = 8, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings where a hidden linear reward decides the preference, with label noise."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(size=dim)
    a, b = rng.normal(size=(n, dim)), rng.normal(size=(n, dim))
    a_wins = (a - b) @ truth + rng.normal(scale=2.0, size=n) > 0
    return np.where(a_wins[:, None], a, b), np.where(a_wins[:, None], b, a)


def test_each_pair_is_scored_by_a_head_fitted_without_its_fold():
    chosen, rejected = synthetic_pairs()
    prob = cross_fitted_prob_chosen(chosen, rejected, l2=3.0, folds=5, seed=0)

    fold_of = fold_assignment(len(chosen), folds=5, seed=0)
    for fold in range(5):
        out = fold_of == fold
        head = BradleyTerryHead.fit(chosen[~out], rejected[~out], l2=3.0)
        expected = 1 / (1 + np.exp(-(head.score(chosen[out]) - head.score(rejected[out]))))
        np.testing.assert_allclose(prob[out], expected, rtol=1e-9)
    # Flipping one fold's labels changes no head that scores it.
    flipped_chosen, flipped_rejected = chosen.copy(), rejected.copy()
    flipped_chosen[fold_of == 0], flipped_rejected[fold_of == 0] = (
        rejected[fold_of == 0],
        chosen[fold_of == 0],
    )
    again = cross_fitted_prob_chosen(flipped_chosen, flipped_rejected, l2=3.0, folds=5, seed=0)
    np.testing.assert_allclose(again[fold_of == 0], 1 - prob[fold_of == 0], rtol=1e-9)


def test_orientation_is_seeded_covers_both_sides_and_changes_no_margin_or_correctness():
    prob_chosen = np.random.default_rng(1).uniform(0.2, 0.9, size=400)

    prob_a, a_is_chosen = orient_pairs(prob_chosen, seed=0)
    again, _ = orient_pairs(prob_chosen, seed=0)

    np.testing.assert_array_equal(prob_a, again)
    assert 0.4 < a_is_chosen.mean() < 0.6
    assert (prob_a > 0.5).any() and (prob_a < 0.5).any()
    np.testing.assert_allclose(np.abs(2 * prob_a - 1), np.abs(2 * prob_chosen - 1))
    np.testing.assert_array_equal(judge_is_right(prob_a, a_is_chosen), prob_chosen > 0.5)


def test_the_calibration_block_reports_its_cut_points_and_both_tie_shares():
    chosen, rejected = synthetic_pairs(n=300)

    block = calibrate_strength_thresholds(chosen, rejected, l2=3.0, folds=5, seed=0, script="spec")

    prob_a, a_is_chosen = orient_pairs(
        cross_fitted_prob_chosen(chosen, rejected, l2=3.0, folds=5, seed=0), seed=0
    )
    correct = judge_is_right(prob_a, a_is_chosen)
    slightly, clearly = accuracy_cut_margins(margins=np.abs(2 * prob_a - 1), correct=correct)
    assert block["slightly_prob_a"] == prob_a_cut(slightly)
    assert block["clearly_prob_a"] == prob_a_cut(clearly)
    calibration = block["calibration"]
    assert (calibration["pairs"], calibration["folds"], calibration["script"]) == (300, 5, "spec")
    assert calibration["out_of_fold_accuracy"] == pytest.approx(correct.mean(), abs=1e-4)
    ours = strength_shares(
        prob_a=prob_a,
        correct=correct,
        slightly_prob_a=block["slightly_prob_a"],
        clearly_prob_a=block["clearly_prob_a"],
    )
    fixed = strength_shares(
        prob_a=prob_a, correct=correct, slightly_prob_a=0.55, clearly_prob_a=0.75
    )
    assert calibration["tie_share_on_calibration"] == ours.tie
    assert calibration["fixed_defaults"]["tie_share_on_calibration"] == fixed.tie
    assert (
        calibrate_strength_thresholds(chosen, rejected, l2=3.0, folds=5, seed=0, script="spec")
        == block
    )
