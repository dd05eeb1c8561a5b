"""The error model on crafted cases: what it scores, what it reads, when its calibrator is used."""

from __future__ import annotations

import numpy as np
import pytest

from routing.core.datasets import LABEL_A, LABEL_B, LABEL_TIE, NO_LABEL
from routing.core.error_model import (
    LLMSideView,
    choose_next_batch,
    score_jury_label_errors,
    score_llm_errors,
)

A, B, T, N = LABEL_A, LABEL_B, LABEL_TIE, NO_LABEL


def flip(labels):
    return np.where(labels == A, B, A).astype(np.int8)


def crafted(n: int = 200, seed: int = 0, features=None, reliable: int = 2):
    """A main judge right 80% of the time (5% ties), ``reliable`` reliable jurors (90%), four
    jurors that are mostly wrong (25%)."""
    rng = np.random.default_rng(seed)
    human = np.where(rng.random(n) < 0.5, A, B).astype(np.int8)

    def judge(accuracy):
        return np.where(rng.random(n) < accuracy, human, flip(human)).astype(np.int8)

    main = judge(0.8)
    main[rng.random(n) < 0.05] = T
    jury = np.stack(
        [*[judge(0.9) for _ in range(reliable)], *[judge(0.25) for _ in range(4)]], axis=1
    )
    features = np.zeros((n, 0)) if features is None else features
    view = LLMSideView(
        main_name="main",
        main=main,
        jury_names=tuple(f"j{k}" for k in range(jury.shape[1])),
        jury=jury,
        features=features,
        feature_names=tuple(f"f{k}" for k in range(features.shape[1])),
    )
    return view, human


def test_an_undecided_main_verdict_is_certainly_wrong():
    view, human = crafted()
    scores = score_llm_errors(view=view, labelled=np.arange(30), human=human[:30])
    undecided = (view.main == T) | (view.main == N)
    assert undecided.any()
    assert (scores.p_llm_wrong[undecided] == 1.0).all()
    assert (scores.p_llm_wrong[~undecided] < 1.0).all()


def test_it_finds_the_main_judges_errors_better_than_the_unweighted_jury():
    view, human = crafted(n=400)
    labelled = np.arange(40)
    scores = score_llm_errors(view=view, labelled=labelled, human=human[labelled])
    rest = np.arange(40, 400)
    decisive = rest[(view.main[rest] == A) | (view.main[rest] == B)]
    wrong = view.main[decisive] != human[decisive]
    from sklearn.metrics import roc_auc_score

    model_auc = roc_auc_score(wrong, scores.p_llm_wrong[decisive])
    against = 1 - scores.signals["jury.support"][decisive]
    assert model_auc > 0.85
    assert model_auc > roc_auc_score(wrong, against) + 0.1  # the mostly-wrong jurors mislead it
    weights = scores.reliability.weight
    assert weights[1] > 0 and weights[2] > 0 and (weights[3:] < 0).all()


def test_value_is_p_wrong_times_p_human_decisive():
    view, human = crafted()
    seed_human = human[:40].copy()
    seed_human[:10] = T  # a quarter of the seed's humans said tie
    scores = score_llm_errors(view=view, labelled=np.arange(40), human=seed_human)
    assert scores.p_human_decisive == pytest.approx(np.full(view.n, 31 / 42))
    assert scores.value == pytest.approx(scores.p_llm_wrong * scores.p_human_decisive)


def test_it_reads_only_the_labels_it_is_given():
    view, human = crafted()
    scores = score_llm_errors(view=view, labelled=np.arange(30), human=human[:30])
    other = human.copy()
    other[30:] = flip(other[30:])  # every label it was not given, changed
    again = score_llm_errors(view=view, labelled=np.arange(30), human=other[:30])
    assert np.array_equal(scores.value, again.value)
    with pytest.raises(ValueError, match="labelled positions"):
        score_llm_errors(view=view, labelled=np.arange(30), human=human[:29])


def test_the_calibrator_is_used_only_when_it_beats_the_posterior_in_cross_validation():
    # Without reliable jurors the posterior is weak; a feature that marks the main judge's
    # errors makes a calibrator worth keeping, pure noise does not.
    view, human = crafted(n=300, reliable=0)
    wrong = (view.main != human).astype(float)[:, None]
    noise = np.random.default_rng(1).random((300, 3)) < 0.5
    revealing = crafted(n=300, features=np.concatenate([wrong, noise], axis=1), reliable=0)[0]
    useless = crafted(n=300, features=noise.astype(float), reliable=0)[0]
    labelled = np.arange(120)
    kept = score_llm_errors(view=revealing, labelled=labelled, human=human[labelled])
    dropped = score_llm_errors(view=useless, labelled=labelled, human=human[labelled])
    assert kept.details["calibrator"].startswith("logistic"), kept.details
    assert dropped.details["calibrator"].startswith("none"), dropped.details
    assert kept.details["cv_auc_calibrated"] > kept.details["cv_auc_posterior"] + 0.02


def test_top_signals_explain_a_score_in_words():
    view, human = crafted()
    scores = score_llm_errors(view=view, labelled=np.arange(30), human=human[:30])
    undecided = int(np.flatnonzero(view.main == T)[0])
    assert scores.top_signals(undecided)[0]["signal"] == "main.undecided"
    decided = int(np.flatnonzero(view.main == A)[0])
    assert "P(main judge wrong)" in scores.top_signals(decided)[0]["text"]


def test_the_next_batch_takes_the_highest_values_and_skips_bought_items():
    view, human = crafted()
    scores = score_llm_errors(view=view, labelled=np.arange(30), human=human[:30])
    bought = np.zeros(view.n, dtype=bool)
    bought[:30] = True
    batch = choose_next_batch(scores=scores, exclude=bought, count=10, rng=np.random.default_rng(0))
    assert len(batch) == 10 and not bought[batch].any()
    assert scores.value[batch].min() >= np.sort(scores.value[~bought])[-10]


def many_jurors_view(agreeing: np.ndarray, jurors: int = 60):
    """Every item labelled A by the main judge; ``agreeing[i]`` of ``jurors`` reliable jurors
    vote A on item i, the rest B."""
    n = len(agreeing)
    jury = np.full((n, jurors), B, dtype=np.int8)
    for i, count in enumerate(agreeing):
        jury[i, :count] = A
    return LLMSideView(
        main_name="main",
        main=np.full(n, A, dtype=np.int8),
        jury_names=tuple(f"j{k}" for k in range(jurors)),
        jury=jury,
        features=np.zeros((n, 0)),
        feature_names=(),
    )


def test_a_large_confident_jury_still_ranks_its_items_by_evidence():
    """With many reliable jurors the log-odds run past what 1 - sigmoid can hold in float64
    (about 37): P(wrong) must still be positive and ordered by the evidence, not 0 for all."""
    # 20 seed items where all 60 jurors and the main judge are right: weight log(21/1) ≈ 3 each.
    seed_votes = np.full(20, 60)
    agreeing = np.concatenate([seed_votes, [60, 55, 50, 45]])  # log-odds ≈ 183, 152, 122, 91
    view = many_jurors_view(agreeing)
    human = np.full(20, A, dtype=np.int8)
    scores = score_llm_errors(view=view, labelled=np.arange(20), human=human)
    p = scores.p_llm_wrong[20:]
    assert (p > 0).all(), p
    assert p[0] < p[1] < p[2] < p[3]
    order = choose_next_batch(
        scores=scores, exclude=np.arange(24) < 20, count=4, rng=np.random.default_rng(0)
    )
    assert order.tolist() == [23, 22, 21, 20]


def test_the_jury_labels_errors_are_ranked_by_evidence_past_float_saturation_too():
    view = many_jurors_view(np.concatenate([np.full(20, 60), [60, 55, 50, 45]]))
    human = np.full(20, A, dtype=np.int8)
    scores = score_jury_label_errors(
        view=view, calibration=np.arange(20), labelled=np.arange(20), human=human
    )
    p = scores.p_llm_wrong[20:]
    assert (p > 0).all(), p
    assert p[0] < p[1] < p[2] < p[3]
