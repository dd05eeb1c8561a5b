"""Which label LLM-routed items keep is chosen on the seed (``routing.core.jury.choose_kept_label``):
the main judge's own (the jury's where it is undecided) when it matched strictly more of the seed's
human labels than the jury label measured leave-one-out, the jury label otherwise; the simulation's
``auto`` mode and its error model make the same choice on a plan's random calibration items."""

from __future__ import annotations

import numpy as np
import pytest

from routing.core.datasets import LABEL_A, LABEL_B, LABEL_TIE, NO_LABEL
from routing.core.jury import KEPT_JURY, KEPT_MAIN, choose_kept_label, shipped_jury_labels
from routing.core.simulation.honesty import HumanLabelOracle, check_plan
from routing.core.simulation.run import llm_side_labels
from routing.core.simulation.strategies.error_model import ErrorModelStrategy
from tests.routing.core.test_core_simulation_jury import flip
from tests.routing.core.test_core_simulation_llm_label import pool_of

A, B, T = LABEL_A, LABEL_B, LABEL_TIE


def correlated_jury(human: np.ndarray, *, main_right: np.ndarray, jurors: int, rng) -> np.ndarray:
    """A main judge right where ``main_right``; ``jurors`` prompt variants of one model, all
    wrong together on the same 30% of items (one shared mistake, not independent ones)."""
    main = np.where(main_right, human, flip(human))
    fooled = rng.random(len(human)) < 0.3
    variant = np.where(fooled, flip(human), human)
    return np.stack([main] + [variant] * jurors, axis=1).astype(np.int8)


def test_a_strong_main_judge_outvoted_by_a_correlated_jury_keeps_its_own_label():
    rng = np.random.default_rng(0)
    human = rng.choice([A, B], 300).astype(np.int8)
    votes = correlated_jury(human, main_right=rng.random(300) < 0.95, jurors=6, rng=rng)
    seed = rng.choice(300, 20, replace=False)
    choice = choose_kept_label(
        votes=votes, names=[f"j{k}" for k in range(7)], labelled=seed, human=human[seed]
    )
    jury, _, _ = shipped_jury_labels(
        votes=votes, names=[f"j{k}" for k in range(7)], labelled=seed, human=human[seed]
    )
    assert choice.source == KEPT_MAIN and choice.items == 20
    assert choice.main_agreement > choice.jury_agreement
    assert (choice.codes == votes[:, 0]).all()  # decisive everywhere: its own verdicts
    assert (choice.codes == human).mean() > (jury == human).mean() + 0.1


def test_a_weak_main_judge_is_replaced_by_the_jury_label():
    rng = np.random.default_rng(1)
    human = rng.choice([A, B], 300).astype(np.int8)
    main = np.where(rng.random(300) < 0.4, human, flip(human))
    jurors = [np.where(rng.random(300) < 0.8, human, flip(human)) for _ in range(5)]
    votes = np.stack([main, *jurors], axis=1).astype(np.int8)
    seed = rng.choice(300, 20, replace=False)
    choice = choose_kept_label(votes=votes, names=list("mabcde"), labelled=seed, human=human[seed])
    assert choice.source == KEPT_JURY
    assert choice.jury_agreement > choice.main_agreement


def test_where_the_kept_main_judge_is_undecided_the_jury_label_fills_in():
    human = np.array([A, B, A, B, A, B], dtype=np.int8)
    # The main judge is right on the four seed items; the two jurors are wrong on three.
    main = np.array([A, B, A, B, T, NO_LABEL], dtype=np.int8)
    juror = np.array([B, A, B, B, B, A], dtype=np.int8)
    votes = np.stack([main, juror, juror], axis=1)
    choice = choose_kept_label(votes=votes, names="mxy", labelled=np.arange(4), human=human[:4])
    assert choice.source == KEPT_MAIN
    assert (choice.main_agreement, choice.items) == (1.0, 4)
    assert choice.codes[:4].tolist() == main[:4].tolist()
    jury, _, _ = shipped_jury_labels(
        votes=votes, names="mxy", labelled=np.arange(4), human=human[:4]
    )
    assert choice.codes[4:].tolist() == jury[4:].tolist()


def test_an_even_seed_and_an_unlabelled_seed_keep_the_jury_label():
    human = np.array([A, B], dtype=np.int8)
    votes = np.array([[A, A], [B, B]], dtype=np.int8)  # main and jury agree: no evidence
    even = choose_kept_label(votes=votes, names="mj", labelled=np.arange(2), human=human)
    assert even.source == KEPT_JURY and even.main_agreement == even.jury_agreement
    nothing = choose_kept_label(
        votes=votes, names="mj", labelled=np.arange(0), human=np.zeros(0, dtype=np.int8)
    )
    assert nothing.source == KEPT_JURY and nothing.items == 0
    assert nothing.main_agreement is None and nothing.jury_agreement is None
    assert nothing.as_dict() == {
        "source": "jury", "main_agreement": None, "jury_agreement": None, "seed_items": 0,
    }  # fmt: skip


def test_human_ties_on_the_seed_are_not_evidence_for_either_label():
    votes = np.array([[A, B], [A, B], [B, B]], dtype=np.int8)
    human = np.array([T, NO_LABEL, B], dtype=np.int8)
    choice = choose_kept_label(votes=votes, names="mj", labelled=np.arange(3), human=human)
    assert choice.items == 1


def test_the_jury_label_is_measured_leave_one_out():
    # With its own label in the fit, a juror right on only that item would be trusted there.
    human = np.array([A, B, A, B], dtype=np.int8)
    main = np.array([A, B, A, B], dtype=np.int8)
    juror = np.array([A, A, B, A], dtype=np.int8)  # right once, on item 0
    votes = np.stack([main, juror], axis=1)
    choice = choose_kept_label(votes=votes, names="mj", labelled=np.arange(4), human=human)
    assert choice.main_agreement == 1.0 and choice.jury_agreement < 1.0
    assert choice.source == KEPT_MAIN


def test_mismatched_seed_labels_are_refused():
    with pytest.raises(ValueError, match="3 labelled positions but 2 human labels"):
        choose_kept_label(
            votes=np.zeros((4, 2), dtype=np.int8), names="mj", labelled=np.arange(3),
            human=np.zeros(2, dtype=np.int8),
        )  # fmt: skip


def test_auto_mode_keeps_what_the_calibration_items_choose():
    rng = np.random.default_rng(0)
    human = rng.choice([A, B], 300).astype(np.int8)
    votes = correlated_jury(human, main_right=rng.random(300) < 0.95, jurors=6, rng=rng)
    pool = pool_of(votes[:, 0], votes[:, 1:], llm_label="auto")
    labelled = rng.choice(300, 20, replace=False)
    kept = llm_side_labels(pool=pool, mode="auto", labelled=labelled, human=human[labelled])
    assert kept.tolist() == votes[:, 0].tolist()  # the strong main judge's own labels
    jury = llm_side_labels(pool=pool, mode="jury", labelled=labelled, human=human[labelled])
    assert (jury != kept).any()  # where the jury label would differ, auto kept the main judge's


def test_the_auto_error_model_chooses_on_its_calibration_sample_and_says_so():
    rng = np.random.default_rng(3)
    human = rng.choice([A, B], 100).astype(np.int8)
    votes = correlated_jury(human, main_right=rng.random(100) < 0.95, jurors=4, rng=rng)
    pool = pool_of(votes[:, 0], votes[:, 1:], budget=40, llm_label="auto")
    oracle = HumanLabelOracle(labels=human, budget=40)
    plan = ErrorModelStrategy().plan(pool=pool, oracle=oracle, rng_seed=5)
    check_plan(plan=plan, oracle=oracle, n_pool=100)
    assert len(plan.calibration) == 20 and plan.human[plan.calibration].all()
    kept = plan.details["rounds"][1]
    assert kept["why"] == "kept label" and kept["source"] == "main" and kept["seed_items"] == 20
    # The rest of the budget goes by the main judge's error model, not the jury label's.
    assert plan.details.get("target") != "jury label"
    assert plan.human.sum() == 40


def test_evidence_that_cancels_out_is_a_tie_despite_float_error():
    # One judge right 4 of 5 times (smoothed), one wrong as often: weights +log 4 and -log 4 up to
    # rounding. Both say A: the evidence is even, so the label is a tie, not A by 1e-16.
    human = np.array([A, B, A], dtype=np.int8)
    votes = np.array([[A, B], [B, A], [A, B], [A, A]], dtype=np.int8)
    codes, prob_a, _ = shipped_jury_labels(
        votes=votes, names="xy", labelled=np.arange(3), human=human
    )
    assert prob_a[-1] == pytest.approx(0.5) and codes[-1] == T
