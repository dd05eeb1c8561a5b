"""Which label an LLM-routed item keeps in the simulation (``SimulationConfig.llm_label``): the
main judge's (the paper's setting), the reliability-weighted jury label a routed campaign ships,
or the main judge's with the jury as fallback; the jury's judges are weighted only on a plan's
random calibration items, and the oracle and the error model aim at the label that is kept."""

from __future__ import annotations

import json

import numpy as np
import pytest

from routing.core.datasets import LABEL_A, LABEL_B, LABEL_TIE, NO_LABEL
from routing.core.error_model import LLMSideView, score_jury_label_errors
from routing.core.features import FeatureTable
from routing.core.jury import shipped_jury_labels
from routing.core.simulation import SimulationConfig, run_simulation
from routing.core.simulation.honesty import (
    HonestyViolation,
    HumanLabelOracle,
    PoolView,
    RoutingPlan,
    check_plan,
)
from routing.core.simulation.run import llm_side_labels
from routing.core.simulation.strategies.error_model import MIN_LABELLED, ErrorModelStrategy
from routing.core.simulation.strategies.oracle import OracleStrategy
from tests.routing.core.fake_embeddings import bag_of_words_embed
from tests.routing.core.test_core_simulation_jury import flip, jury_dataset, write_files

A, B, T = LABEL_A, LABEL_B, LABEL_TIE


def pool_of(main, jury, *, budget=0, llm_label="main") -> PoolView:
    main = np.asarray(main, dtype=np.int8)
    jury = np.asarray(jury, dtype=np.int8).reshape(len(main), -1)
    n = len(main)
    features = FeatureTable(
        version="test",
        ids=tuple(f"p{i}" for i in range(n)),
        names=(),
        matrix=np.zeros((n, 0), dtype=bool),
        raw={},
    )
    return PoolView(
        ids=features.ids,
        features=features,
        llm=main,
        emb_a=np.zeros((n, 2), dtype=np.float32),
        emb_b=np.zeros((n, 2), dtype=np.float32),
        budget=budget,
        llm_name="main",
        jury_names=tuple(f"j{k}" for k in range(jury.shape[1])),
        jury=jury if jury.shape[1] else None,
        llm_label=llm_label,
    )


def test_unmeasured_judges_count_the_same_and_an_even_split_is_a_tie():
    votes = np.array([[A, A, B], [B, B, A], [A, B, T], [NO_LABEL, T, T]], dtype=np.int8)
    codes, prob_a, reliability = shipped_jury_labels(
        votes=votes, names=("m", "x", "y"), labelled=np.empty(0, dtype=np.int64), human=np.empty(0)
    )
    assert codes.tolist() == [A, B, T, T]
    assert prob_a[2] == prob_a[3] == 0.5
    assert reliability.weight.tolist() == [1.0, 1.0, 1.0]


def test_a_judge_wrong_on_every_calibration_item_is_outvoted_and_then_reversed():
    human = np.array([A, B] * 6, dtype=np.int8)
    right, wrong = human, flip(human)
    # "m" and "x" are always wrong on the calibration items, "y" always right.
    votes = np.stack([wrong, wrong, right], axis=1)
    unlabelled = np.array([[A, A, B]], dtype=np.int8)
    codes, _, reliability = shipped_jury_labels(
        votes=np.concatenate([votes, unlabelled]),
        names=("m", "x", "y"),
        labelled=np.arange(12),
        human=human,
    )
    assert (reliability.weight[:2] < 0).all() and reliability.weight[2] > 0
    assert codes[-1] == B  # two judges known to be wrong say A, the reliable one says B


def test_each_mode_keeps_its_label_and_without_a_jury_every_mode_keeps_the_main_judges():
    main = [A, T, B, NO_LABEL]
    jury = [[B, B], [A, A], [A, A], [B, B]]
    none = np.empty(0, dtype=np.int64)
    for mode, expected in [
        ("main", [A, T, B, NO_LABEL]),
        ("jury", [B, A, A, B]),  # two of three vote that way, weighted equally (none measured)
        ("fallback", [A, A, B, B]),  # the main judge where decisive, the jury where not
    ]:
        pool = pool_of(main, jury)
        kept = llm_side_labels(pool=pool, mode=mode, labelled=none, human=none)
        assert kept.tolist() == expected, mode
    alone = pool_of(main, np.zeros((4, 0)))
    for mode in ("main", "jury", "fallback"):
        assert llm_side_labels(pool=alone, mode=mode, labelled=none, human=none).tolist() == main


def test_the_oracle_buys_where_the_kept_label_is_wrong_not_where_the_main_judge_is():
    human = np.array([A, A, A, A], dtype=np.int8)
    pool = pool_of([B, B, A, A], [[A], [A], [A], [A]], budget=1)
    kept = np.array([A, A, B, A], dtype=np.int8)  # e.g. a jury label that fixed items 0 and 1
    plan = OracleStrategy().plan_with_labels(pool=pool, human=human, rng_seed=0, llm_labels=kept)
    assert np.flatnonzero(plan.human).tolist() == [2]


def test_a_plan_whose_calibration_items_are_not_all_human_breaks_the_rules():
    oracle = HumanLabelOracle(labels=np.array([A, B, A, B], dtype=np.int8), budget=2)
    oracle.buy([0, 1])
    plan = RoutingPlan(
        human=np.array([True, True, False, False]), seed=oracle.seed, calibration=np.array([0, 2])
    )
    with pytest.raises(HonestyViolation, match="calibration item"):
        check_plan(plan=plan, oracle=oracle, n_pool=4)


def test_an_unknown_llm_label_mode_is_refused():
    with pytest.raises(ValueError, match="llm_label must be one of main, jury, fallback"):
        SimulationConfig(llm_label="majority")


def test_jury_label_errors_weigh_judges_on_the_calibration_items_only():
    rng = np.random.default_rng(0)
    n = 120
    human = np.where(rng.random(n) < 0.5, A, B).astype(np.int8)
    good = np.where(rng.random((n, 2)) < 0.95, human[:, None], flip(human)[:, None])
    fooled = np.where(rng.random((n, 3)) < 0.2, human[:, None], flip(human)[:, None])
    main = np.where(rng.random(n) < 0.5, human, flip(human)).astype(np.int8)
    view = LLMSideView(
        main_name="main",
        main=main,
        jury_names=("g0", "g1", "f0", "f1", "f2"),
        jury=np.concatenate([good, fooled], axis=1).astype(np.int8),
        features=np.zeros((n, 0)),
        feature_names=(),
    )
    calibration = np.arange(30)
    # Items bought for looking wrong, where the good judges happen to be wrong: they must not
    # change the weights (they are not a fair sample of the items left to the jury).
    targeted = np.flatnonzero((good[:, 0] != human) & (np.arange(n) >= 30))
    labelled = np.concatenate([calibration, targeted])
    scores = score_jury_label_errors(
        view=view, calibration=calibration, labelled=labelled, human=human[labelled]
    )
    only_calibration = score_jury_label_errors(
        view=view, calibration=calibration, labelled=calibration, human=human[calibration]
    )
    np.testing.assert_array_equal(scores.reliability.weight, only_calibration.reliability.weight)
    weight = dict(zip(scores.reliability.names, scores.reliability.weight, strict=True))
    assert weight["g0"] > 0 and weight["g1"] > 0 and weight["f0"] < 0
    assert scores.details["target"] == "jury label"
    # The shipped label is right where the jury is sure; a tie would be worth a human most.
    sure = scores.p_llm_wrong < 0.05
    assert sure.sum() > n / 2
    kept, _, _ = shipped_jury_labels(
        votes=view.all_votes, names=view.judge_names, labelled=calibration,
        human=human[calibration],
    )  # fmt: skip
    assert (kept[sure] == human[sure]).mean() > 0.95
    with pytest.raises(ValueError, match="calibration position 5 carries no human label"):
        score_jury_label_errors(view=view, calibration=[5], labelled=[1, 2], human=human[[1, 2]])


def test_the_error_model_for_the_jury_label_starts_with_a_random_calibration_sample():
    dataset = jury_dataset(n=200)
    n, budget = 100, 40
    pool = pool_of(dataset.llm[:n], dataset.jury[:n], budget=budget, llm_label="jury")
    oracle = HumanLabelOracle(labels=dataset.human[:n], budget=budget)
    plan = ErrorModelStrategy().plan(pool=pool, oracle=oracle, rng_seed=3)
    check_plan(plan=plan, oracle=oracle, n_pool=n)
    assert len(plan.calibration) == min(MIN_LABELLED, budget // 2) == 20
    assert plan.human[plan.calibration].all()
    assert plan.details["rounds"][0] == {"why": "calibration", "items": 20}
    assert plan.details["target"] == "jury label"


@pytest.fixture(scope="module")
def jury_label_report():
    config = SimulationConfig(
        budgets=(0.1, 0.25, 0.5),
        seeds=3,
        strategies=("random", "jury-rule", "error-model"),
        llm_label="jury",
    )
    return run_simulation(dataset=jury_dataset(), embed=bag_of_words_embed, config=config)


def test_with_the_jury_label_kept_the_oracle_bounds_every_strategy_and_the_report_says_so(
    jury_label_report,
):
    rows = {(r.strategy, r.budget_share): r for r in jury_label_report.summary}
    for share in (0.1, 0.25, 0.5):
        oracle = rows["oracle", share].agreement_mean
        for name in ("random", "jury-rule", "error-model"):
            assert rows[name, share].agreement_mean <= oracle + 1e-9, (name, share)
    assert jury_label_report.to_json()["config"]["llm_label"] == "jury"


def test_cli_llm_label_reaches_the_report(tmp_path, capsys, cached_minilm_encoder):
    from routing.core.__main__ import main

    instances, labels = write_files(tmp_path, jury_dataset(n=60))
    out = tmp_path / "report.json"
    code = main(
        [
            "simulate", "--instances", str(instances), "--labels", str(labels),
            "--llm", "main", "--jury", "all", "--llm-label", "jury", "--budgets", "0.25",
            "--seeds", "1", "--strategies", "random,error-model", "--no-tags",
            "--cache-dir", str(cached_minilm_encoder.cache.directory), "--json", str(out),
        ]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert json.loads(out.read_text())["config"]["llm_label"] == "jury"
