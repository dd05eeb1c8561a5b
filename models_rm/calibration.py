"""Strength cut points for a pairwise judge, set on its own out-of-fold predictions.

A judge's P(A preferred) becomes a 5-point label (A clearly / slightly better, tie, B slightly /
clearly better) by two cut points on P(A). Fixed cut points (0.55 / 0.75) land wherever a head's
probabilities happen to cluster: a weak head rarely leaves 0.45..0.55 and calls most pairs a
tie. Here the cut points are fixed a priori on *accuracy* instead: "slightly" from the smallest
margin ``|2·P(A) − 1|`` at which the judge's side is right 55% of the time, "clearly" from the
smallest at which it is right 75%, both read off an isotonic (monotone) fit of correctness on
the margin over cross-fitted predictions on the judge's training pairs, so that no held-out
label is spent on it.

Pure: arrays in, arrays and dicts out. numpy and the head's scipy solver; sklearn (the isotonic
fit) is imported inside the function that needs it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models_rm.heads import BradleyTerryHead
from models_rm.judge import DEFAULT_STRENGTH_THRESHOLDS

SLIGHTLY_ACCURACY = 0.55
CLEARLY_ACCURACY = 0.75
METHOD = (
    "isotonic regression of 'the judge's side is right' on the margin |2·P(A) − 1| over "
    "cross-fitted (out-of-fold) predictions on the training pairs; 'slightly' at the smallest "
    "margin where the fitted accuracy reaches 0.55, 'clearly' where it reaches 0.75 (null: never)"
)
# Cut points are stored to this many decimals (P(A) at 1e-6 moves no real verdict).
DECIMALS = 6


def fold_assignment(n: int, *, folds: int, seed: int) -> np.ndarray:
    """Fold of each of ``n`` pairs: ``default_rng(seed).permutation(n) % folds``, the folds
    ``fit_default_judge.choose_l2`` cross-validates the penalty on."""
    if not 2 <= folds <= n:
        raise ValueError(f"folds must be in 2..{n}, got {folds}")
    return np.random.default_rng(seed).permutation(n) % folds


def cross_fitted_prob_chosen(
    chosen: np.ndarray, rejected: np.ndarray, *, l2: float, folds: int, seed: int
) -> np.ndarray:
    """Out-of-fold P(chosen preferred) of each pair (float64, length n): each fold is scored by a
    Bradley–Terry head fitted with ``l2`` on the other folds only, so no pair is scored by a head
    that saw its label."""
    chosen = np.asarray(chosen, dtype=np.float64)
    rejected = np.asarray(rejected, dtype=np.float64)
    fold_of = fold_assignment(len(chosen), folds=folds, seed=seed)
    prob_chosen = np.empty(len(chosen), dtype=np.float64)
    for fold in range(folds):
        train, test = fold_of != fold, fold_of == fold
        head = BradleyTerryHead.fit(chosen[train], rejected[train], l2=l2, seed=seed)
        difference = head.score(chosen[test]) - head.score(rejected[test])
        prob_chosen[test] = 0.5 * (1.0 + np.tanh(0.5 * difference))  # sigmoid, overflow-free
    return prob_chosen


def orient_pairs(prob_chosen: np.ndarray, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(prob_a, a_is_chosen)``: each pair shown with the chosen reply as A or as B by a fair
    seeded coin (stream ``(seed, 1)``, independent of the folds), so that P(A) covers both sides
    of 0.5 as it does on real items. (The judge is symmetric, so the margin and whether its side
    is right do not depend on the orientation; the shares below are per side.)"""
    prob_chosen = np.asarray(prob_chosen, dtype=np.float64)
    a_is_chosen = np.random.default_rng((seed, 1)).random(len(prob_chosen)) < 0.5
    return np.where(a_is_chosen, prob_chosen, 1.0 - prob_chosen), a_is_chosen


def judge_is_right(prob_a: np.ndarray, a_is_chosen: np.ndarray) -> np.ndarray:
    """1 where the judge's side (A when ``prob_a > 0.5``) is the chosen reply, 0 where it is the
    rejected one, 0.5 at exactly ``prob_a == 0.5`` (no side: half right, as ties count in the
    judge's accuracy)."""
    prob_a = np.asarray(prob_a, dtype=np.float64)
    picks_a = prob_a > 0.5
    right = np.where(picks_a == np.asarray(a_is_chosen, dtype=bool), 1.0, 0.0)
    return np.where(prob_a == 0.5, 0.5, right)


def accuracy_cut_margins(
    *,
    margins: np.ndarray,
    correct: np.ndarray,
    slightly_accuracy: float = SLIGHTLY_ACCURACY,
    clearly_accuracy: float = CLEARLY_ACCURACY,
) -> tuple[float | None, float | None]:
    """``(slightly, clearly)``: the smallest observed margin whose isotonic (non-decreasing)
    fitted accuracy reaches ``slightly_accuracy`` / ``clearly_accuracy``; ``None`` where the fit
    never reaches it. ``correct`` is 0..1 per pair (1: the judge's side is right)."""
    from sklearn.isotonic import IsotonicRegression

    margins = np.asarray(margins, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    if margins.shape != correct.shape or margins.ndim != 1 or len(margins) == 0:
        raise ValueError(
            f"margins and correct must be non-empty vectors of one length, got "
            f"{margins.shape} and {correct.shape}"
        )
    fitted = IsotonicRegression(increasing=True).fit_transform(margins, correct)

    def first_margin_reaching(target: float) -> float | None:
        reached = fitted >= target
        return float(margins[reached].min()) if reached.any() else None

    return first_margin_reaching(slightly_accuracy), first_margin_reaching(clearly_accuracy)


def prob_a_cut(margin: float | None) -> float | None:
    """The P(A) cut point of a margin cut: ``(1 + margin) / 2``, rounded to ``DECIMALS``."""
    return None if margin is None else round(0.5 * (1.0 + margin), DECIMALS)


@dataclass(frozen=True)
class StrengthShares:
    """How cut points label a set of oriented predictions: the share of pairs per strength and
    the judge's accuracy within each (``None`` for an empty band)."""

    tie: float
    slightly: float
    clearly: float
    accuracy_slightly: float | None
    accuracy_clearly: float | None


def strength_shares(
    *,
    prob_a: np.ndarray,
    correct: np.ndarray,
    slightly_prob_a: float | None,
    clearly_prob_a: float | None,
) -> StrengthShares:
    """Label each ``prob_a`` as the platform does (``P(A) ≥ cut`` or ``P(A) ≤ 1 − cut``; a
    ``None`` cut is never used; exactly 0.5 is a tie) and summarise."""
    prob_a = np.asarray(prob_a, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)

    def beyond(cut: float | None) -> np.ndarray:
        if cut is None:
            return np.zeros(len(prob_a), dtype=bool)
        return ((prob_a >= cut) | (prob_a <= 1.0 - cut)) & (prob_a != 0.5)

    clearly = beyond(clearly_prob_a)
    slightly = beyond(slightly_prob_a) & ~clearly
    tie = ~(clearly | slightly)

    def accuracy(band: np.ndarray) -> float | None:
        return round(float(correct[band].mean()), 4) if band.any() else None

    return StrengthShares(
        tie=round(float(tie.mean()), 4),
        slightly=round(float(slightly.mean()), 4),
        clearly=round(float(clearly.mean()), 4),
        accuracy_slightly=accuracy(slightly),
        accuracy_clearly=accuracy(clearly),
    )


def calibrate_strength_thresholds(
    chosen: np.ndarray,
    rejected: np.ndarray,
    *,
    l2: float,
    folds: int,
    seed: int,
    script: str,
) -> dict:
    """The ``strength_thresholds`` block of a judge's ``judge.json``, from the embeddings of its
    *training* pairs only (chosen and rejected reply, ``(n, dim)`` each): cross-fitted P(chosen)
    with the artifact's ``l2``, seeded orientation, isotonic accuracy-vs-margin, a-priori cut
    points, and the tie share they give on these predictions next to the fixed 0.55 / 0.75.
    Deterministic for given inputs."""
    prob_chosen = cross_fitted_prob_chosen(chosen, rejected, l2=l2, folds=folds, seed=seed)
    prob_a, a_is_chosen = orient_pairs(prob_chosen, seed=seed)
    correct = judge_is_right(prob_a, a_is_chosen)
    slightly_margin, clearly_margin = accuracy_cut_margins(
        margins=np.abs(2.0 * prob_a - 1.0), correct=correct
    )
    slightly_prob_a, clearly_prob_a = prob_a_cut(slightly_margin), prob_a_cut(clearly_margin)
    calibrated = strength_shares(
        prob_a=prob_a,
        correct=correct,
        slightly_prob_a=slightly_prob_a,
        clearly_prob_a=clearly_prob_a,
    )
    fixed = strength_shares(
        prob_a=prob_a,
        correct=correct,
        slightly_prob_a=DEFAULT_STRENGTH_THRESHOLDS.slightly_prob_a,
        clearly_prob_a=DEFAULT_STRENGTH_THRESHOLDS.clearly_prob_a,
    )
    return {
        "slightly_prob_a": slightly_prob_a,
        "clearly_prob_a": clearly_prob_a,
        "method": METHOD,
        "target_accuracy": {"slightly": SLIGHTLY_ACCURACY, "clearly": CLEARLY_ACCURACY},
        "calibration": {
            "pairs": int(len(prob_a)),
            "folds": folds,
            "l2": l2,
            "seed": seed,
            "out_of_fold_accuracy": round(float(correct.mean()), 4),
            "tie_share_on_calibration": calibrated.tie,
            "shares": {
                "tie": calibrated.tie,
                "slightly": calibrated.slightly,
                "clearly": calibrated.clearly,
            },
            "accuracy": {
                "slightly": calibrated.accuracy_slightly,
                "clearly": calibrated.accuracy_clearly,
            },
            "fixed_defaults": {
                "slightly_prob_a": DEFAULT_STRENGTH_THRESHOLDS.slightly_prob_a,
                "clearly_prob_a": DEFAULT_STRENGTH_THRESHOLDS.clearly_prob_a,
                "tie_share_on_calibration": fixed.tie,
                "shares": {"tie": fixed.tie, "slightly": fixed.slightly, "clearly": fixed.clearly},
                "accuracy": {
                    "slightly": fixed.accuracy_slightly,
                    "clearly": fixed.accuracy_clearly,
                },
            },
            "script": script,
        },
    }
