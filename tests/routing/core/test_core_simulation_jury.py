"""Simulation with a jury: the error model against random, the jury rule and the oracle; the
report other tools read; the command line's --jury and its handling of empty responses."""

from __future__ import annotations

import json

import numpy as np
import pytest

from routing.core.datasets import (
    LABEL_A,
    LABEL_B,
    LABEL_NAMES,
    LABEL_TIE,
    Instance,
    PairwiseDataset,
)
from routing.core.simulation import SimulationConfig, format_table, run_simulation
from tests.conftest import SHARED_DIR, needs_shared_data
from tests.routing.core.fake_embeddings import bag_of_words_embed

LLMBAR = SHARED_DIR / "data" / "llmbar-gold"


def flip(labels):
    return np.where(labels == LABEL_A, LABEL_B, LABEL_A).astype(np.int8)


def jury_dataset(n: int = 240, seed: int = 0) -> PairwiseDataset:
    """A main judge right 80% of the time (8% order-inconsistent ties); a jury of two reliable
    judges (90%) and five fooled ones (30%), so that counting votes against the main judge
    misleads and weighting them by reliability does not."""
    rng = np.random.default_rng(seed)
    human = np.where(rng.random(n) < 0.5, LABEL_A, LABEL_B).astype(np.int8)

    def judge(accuracy):
        return np.where(rng.random(n) < accuracy, human, flip(human)).astype(np.int8)

    main = judge(0.8)
    main[rng.random(n) < 0.08] = LABEL_TIE
    jury = np.stack([judge(0.9), judge(0.9), *[judge(0.3) for _ in range(5)]], axis=1)
    instances = tuple(
        Instance(
            id=f"j{i}",
            messages=({"role": "user", "content": f"prompt {i // 2}"},),
            response_a=f"answer {i} one",
            response_b=f"reply {i} two",
            model_a="m",
            model_b="m",
            metadata={},
            line=i + 1,
        )
        for i in range(n)
    )
    return PairwiseDataset(
        instances=instances,
        human=human,
        llm=main,
        human_name="human",
        llm_name="main",
        jury_names=tuple(f"juror-{k}" for k in range(jury.shape[1])),
        jury=jury,
    )


@pytest.fixture(scope="module")
def jury_report():
    config = SimulationConfig(
        budgets=(0.1, 0.25, 0.5),
        seeds=3,
        strategies=("random", "jury-rule", "error-model"),
    )
    return run_simulation(dataset=jury_dataset(), embed=bag_of_words_embed, config=config)


def test_the_error_model_beats_random_and_the_jury_rule_and_stays_below_the_oracle(jury_report):
    rows = {(r.strategy, r.budget_share): r for r in jury_report.summary}
    for share in (0.1, 0.25, 0.5):
        random, rule = rows["random", share], rows["jury-rule", share]
        model, oracle = rows["error-model", share], rows["oracle", share]
        assert oracle.agreement_mean >= model.agreement_mean > random.agreement_mean
        assert model.agreement_mean >= rule.agreement_mean
        assert model.gap_closed == pytest.approx(
            (model.agreement_mean - random.agreement_mean)
            / (oracle.agreement_mean - random.agreement_mean)
        )
    assert rows["error-model", 0.25].gap_closed > 0.5
    assert rows["error-model", 0.5].agreement_mean > rows["jury-rule", 0.5].agreement_mean


def test_the_json_report_has_strategy_rows_the_oracle_and_the_default_strategy(jury_report):
    report = json.loads(json.dumps(jury_report.to_json()))
    assert report["config"]["default_strategy"] == "error-model"
    summary = report["summary"]
    assert {row["strategy"] for row in summary} == {"random", "oracle", "jury-rule", "error-model"}
    for row in summary:
        assert {"strategy", "budget_share", "agreement_mean", "agreement_sd", "gap_closed"} <= set(
            row
        )
    headroom = report["proxy_headroom"]
    assert [h["budget_share"] for h in headroom] == [0.1, 0.25, 0.5]
    assert all(h["seeds"] == 3 and h["headroom_sd"] >= 0 for h in headroom)
    assert report["dataset"]["jury"] == [f"juror-{k}" for k in range(7)]
    table = format_table(jury_report)
    assert "oracle*" in table and "Proxy headroom" in table and "reads every human label" in table


def write_files(tmp_path, dataset: PairwiseDataset, *, empty: tuple[int, ...] = ()):
    instances, labels = tmp_path / "I.jsonl", tmp_path / "L.jsonl"
    with instances.open("w") as handle:
        for k, i in enumerate(dataset.instances):
            a = "" if k in empty else i.response_a
            row = {"id": i.id, "prompt": i.messages[-1]["content"]}
            row["responses"] = [{"text": a}, {"text": i.response_b}]
            handle.write(json.dumps(row) + "\n")
    with labels.open("w") as handle:
        for k, i in enumerate(dataset.instances):
            llm = {"main": LABEL_NAMES[int(dataset.llm[k])]}
            for j, name in enumerate(dataset.jury_names):
                llm[name] = LABEL_NAMES[int(dataset.jury[k, j])]
            handle.write(
                json.dumps({"id": i.id, "human": LABEL_NAMES[int(dataset.human[k])], "llm": llm})
                + "\n"
            )
    return instances, labels


def test_cli_skips_and_counts_rows_with_an_empty_response_and_reads_the_jury(
    tmp_path, capsys, cached_minilm_encoder
):
    from routing.core.__main__ import main

    instances, labels = write_files(tmp_path, jury_dataset(n=80), empty=(3, 17))
    out = tmp_path / "report.json"
    code = main(
        [
            "simulate", "--instances", str(instances), "--labels", str(labels),
            "--llm", "main", "--jury", "all", "--budgets", "0.25", "--seeds", "1",
            "--strategies", "random,jury-rule,error-model", "--no-tags",
            "--cache-dir", str(cached_minilm_encoder.cache.directory), "--json", str(out),
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "skipped 2 instance(s) with an empty response text (lines 4, 18)" in captured.err
    report = json.loads(out.read_text())
    assert report["dataset"]["n"] == 78 and report["dataset"]["skipped_empty_responses"] == 2
    assert report["dataset"]["jury"] == [f"juror-{k}" for k in range(7)]
    assert "2 instance(s) with an empty response skipped" in captured.out


@pytest.mark.parametrize(
    "jury, message",
    [
        ("juror-0,nobody", "unknown LLM annotator 'nobody' (--jury)"),
        ("main,juror-1", "'main' is the main judge (--llm); leave it out of --jury"),
    ],
)
def test_cli_refuses_a_bad_jury_on_one_line(tmp_path, capsys, jury, message):
    from routing.core.__main__ import main

    instances, labels = write_files(tmp_path, jury_dataset(n=20))
    argv = ["simulate", "--instances", str(instances), "--labels", str(labels), "--llm", "main"]
    assert main([*argv, "--jury", jury, "--quiet"]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.slow
@needs_shared_data(LLMBAR / "llmbar.labels.jsonl.gz")
def test_on_llmbar_the_error_model_closes_most_of_the_gap_for_a_strong_main_judge(
    tmp_path, cached_minilm_encoder
):
    """Real judges on real gold labels (the dev set; bench/bench_routing_llmbar.py prints the
    full table): two seeds, the strongest judge as main, every other judge as the jury."""
    from routing.core.__main__ import main

    out = tmp_path / "llmbar.json"
    code = main(
        [
            "simulate",
            "--instances", str(LLMBAR / "llmbar.instances.jsonl.gz"),
            "--labels", str(LLMBAR / "llmbar.labels.jsonl.gz"),
            "--llm", "GPT-4/Metrics_Reference", "--jury", "all",
            "--budgets", "0.1,0.25", "--seeds", "2", "--no-tags", "--quiet",
            "--strategies", "random,jury-rule,error-model",
            "--cache-dir", str(cached_minilm_encoder.cache.directory), "--json", str(out),
        ]
    )  # fmt: skip
    assert code == 0
    rows = {(r["strategy"], r["budget_share"]): r for r in json.loads(out.read_text())["summary"]}
    for share in (0.1, 0.25):
        assert (
            rows["error-model", share]["agreement_mean"] > rows["random", share]["agreement_mean"]
        )
        assert rows["error-model", share]["gap_closed"] > 0.5
        assert (
            rows["oracle", share]["agreement_mean"] >= rows["error-model", share]["agreement_mean"]
        )


def test_a_ppm_is_not_fitted_on_a_proxy_without_headroom():
    """With LLM labels equal to the human ones, human labels cannot move the proxy: the PPM
    strategies keep their paid seed, route the rest by the error model and say why."""
    dataset = jury_dataset(n=200)
    dataset = PairwiseDataset(
        instances=dataset.instances,
        human=dataset.human,
        llm=dataset.human.copy(),
        human_name="human",
        llm_name="perfect",
        jury_names=dataset.jury_names,
        jury=dataset.jury,
    )
    config = SimulationConfig(
        budgets=(0.5,), seeds=1, strategies=("ppm-greedy",), proxy_runs=12, seed_share=0.3
    )
    report = run_simulation(dataset=dataset, embed=bag_of_words_embed, config=config)
    (run,) = [r for r in report.runs if r.strategy == "ppm-greedy"]
    assert run.ppm_source.startswith("no PPM: the proxy showed no headroom")
    assert run.details["ppm_fitted"] is False
    assert not run.details["proxy_headroom"] > 2 * run.details["proxy_headroom_se"]
    assert run.seed_items > 0


def test_headroom_slope_and_its_standard_error():
    from routing.core.simulation.seed_ppm import _slope_with_se

    x = np.linspace(0, 1, 11)
    slope, se = _slope_with_se(x, 0.5 + 0.2 * x)
    assert slope == pytest.approx(0.2) and se == pytest.approx(0.0, abs=1e-12)
    slope, se = _slope_with_se(x, np.where(np.arange(11) % 2 == 0, 0.6, 0.5))
    assert abs(slope) < 2 * se
    assert np.isnan(_slope_with_se(np.ones(5), np.arange(5.0))[0])
