"""The jury: reliability weights from the seed, the weighted label, the signals, the rule."""

from __future__ import annotations

import numpy as np
import pytest

from routing.core.datasets import LABEL_A, LABEL_B, LABEL_TIE, NO_LABEL
from routing.core.jury import (
    fit_judge_reliability,
    jury_labels,
    jury_posterior,
    jury_rule_order,
    jury_signals,
)

A, B, T, N = LABEL_A, LABEL_B, LABEL_TIE, NO_LABEL


def flip(labels):
    return np.where(labels == A, B, A).astype(np.int8)


def test_a_judge_that_is_always_wrong_gets_a_negative_weight_and_one_always_right_positive():
    human = np.array([A, B, A, B, A, B, A, B], dtype=np.int8)
    votes = np.stack([human, flip(human)], axis=1)
    reliability = fit_judge_reliability(votes=votes, names=["right", "wrong"], human=human)
    assert reliability.weight[0] > 0 > reliability.weight[1]
    assert reliability.weight[1] == pytest.approx(-reliability.weight[0])
    # Laplace smoothing: 8 of 8 is 9/10, not certainty.
    assert reliability.accuracy[0] == pytest.approx(0.9)


def test_a_judge_at_chance_or_never_decisive_on_the_seed_gets_weight_zero():
    human = np.array([A, B, A, B], dtype=np.int8)
    votes = np.array([[A, T], [A, N], [B, T], [B, N]], dtype=np.int8)  # judge 0: 2 of 4
    reliability = fit_judge_reliability(votes=votes, names=["coin", "silent"], human=human)
    assert reliability.weight.tolist() == pytest.approx([0.0, 0.0])
    assert reliability.seen.tolist() == [4, 0]


def test_human_ties_say_nothing_about_who_is_right():
    human = np.array([T, T, A], dtype=np.int8)
    votes = np.array([[A], [B], [A]], dtype=np.int8)
    reliability = fit_judge_reliability(votes=votes, names=["j"], human=human)
    assert reliability.seen.tolist() == [1] and reliability.matched.tolist() == [1]


def test_the_weighted_label_follows_one_reliable_judge_over_a_wrong_majority():
    rng = np.random.default_rng(0)
    human = np.where(rng.random(60) < 0.5, A, B).astype(np.int8)
    reliable = human.copy()
    fooled = np.stack([flip(human)] * 3, axis=1)  # three judges that are always wrong
    fooled[:5] = human[:5, None]  # ... almost always
    votes = np.concatenate([reliable[:, None], fooled], axis=1)
    reliability = fit_judge_reliability(
        votes=votes[:30], names=["r", "f1", "f2", "f3"], human=human[:30]
    )
    labels = jury_labels(prob_a=jury_posterior(votes=votes[30:], reliability=reliability))
    assert (labels == human[30:]).all()  # the majority (3 of 4) is wrong on every one of them


def test_an_item_without_evidence_is_a_tie_never_broken_by_judge_order():
    reliability = fit_judge_reliability(
        votes=np.array([[A, A], [B, B]], dtype=np.int8),
        names=["x", "y"],
        human=np.array([A, B], dtype=np.int8),
    )
    votes = np.array([[N, T], [A, B], [B, A]], dtype=np.int8)  # nothing / equal judges split
    prob_a = jury_posterior(votes=votes, reliability=reliability)
    assert prob_a.tolist() == pytest.approx([0.5, 0.5, 0.5])
    assert jury_labels(prob_a=prob_a).tolist() == [T, T, T]
    assert jury_labels(prob_a=np.array([0.6, 0.4]), min_margin=0.2).tolist() == [T, T]


def test_jury_signals_on_crafted_votes():
    main = np.array([A, A, T, B], dtype=np.int8)
    jury = np.array([[A, A, A, B], [B, B, T, T], [A, B, N, N], [N, N, N, N]], dtype=np.int8)
    signals = jury_signals(main=main, jury=jury)
    assert signals["main.undecided"].tolist() == [0, 0, 1, 0]
    assert signals["jury.support"].tolist() == pytest.approx([0.75, 0.0, 0.5, 0.5])
    assert signals["jury.margin"].tolist() == pytest.approx([0.5, 1.0, 0.0, 0.0])
    assert signals["jury.inconsistent"].tolist() == pytest.approx([0.0, 0.5, 0.0, 0.0])
    assert signals["jury.entropy"][0] == pytest.approx(
        -(0.75 * np.log2(0.75) + 0.25 * np.log2(0.25)) / np.log2(3)
    )
    assert signals["jury.entropy"][3] == 0.0
    assert set(jury_signals(main=main, jury=np.zeros((4, 0), dtype=np.int8))) == {"main.undecided"}


def test_the_jury_rule_puts_undecided_items_first_then_the_most_disputed():
    main = np.array([A, A, N, A, T], dtype=np.int8)
    jury = np.array([[A, A], [B, B], [A, A], [A, B], [A, A]], dtype=np.int8)
    order = jury_rule_order(main=main, jury=jury, rng=np.random.default_rng(0)).tolist()
    assert set(order[:2]) == {2, 4}
    assert order[2:] == [1, 3, 0]
