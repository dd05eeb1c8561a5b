"""The honest simulation end to end: synthetic (fast, fake embeddings) and on ../shared/data
with the local reward-model judge as the LLM annotator (slow)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from routing.core.datasets import LABEL_A, LABEL_B, LABEL_TIE, Instance, PairwiseDataset
from routing.core.disagreement import (
    DisagreementModel,
    build_disagreement_design,
    disagreement_targets,
    fit_disagreement_model,
    route_by_disagreement,
)
from routing.core.predictors import fit_predictor
from routing.core.simulation import (
    HONESTY_RULES,
    STRATEGIES,
    SimulationConfig,
    _SeededPredictor,
    counts_of,
    feature_filled_subset,
    format_table,
    run_simulation,
    search_human_set,
    split_by_prompt,
)
from tests.routing.core.fake_embeddings import bag_of_words_embed as _bag_of_words_embed

WORDS = [
    "river",
    "stone",
    "cloud",
    "paper",
    "light",
    "metal",
    "glass",
    "seed",
    "tree",
    "salt",
    "wind",
    "bell",
]


def bag_of_words_embed(texts):
    return _bag_of_words_embed(texts, dim=48)


def synthetic_dataset(n: int = 150, seed: int = 0) -> PairwiseDataset:
    """The reply with the word "excellent" is the human's choice; the LLM agrees 70% of the
    time and ties 5%."""
    rng = np.random.default_rng(seed)
    instances, human, llm = [], [], []
    for i in range(n):
        words = [list(rng.choice(WORDS, int(rng.integers(3, 25)))) for _ in range(2)]
        better = int(rng.integers(0, 2))
        words[better].append("excellent")
        instances.append(
            Instance(
                id=f"s{i}",
                messages=(
                    {"role": "user", "content": f"question {i // 3} " + " ".join(words[0][:2])},
                ),
                response_a=" ".join(words[0]),
                response_b=" ".join(words[1]),
                model_a="m",
                model_b="m",
                metadata={},
                line=i + 1,
            )
        )
        label = LABEL_A if better == 0 else LABEL_B
        human.append(label)
        draw = rng.random()
        llm.append(label if draw < 0.7 else LABEL_TIE if draw > 0.95 else LABEL_A + LABEL_B - label)
    return PairwiseDataset(
        instances=tuple(instances),
        human=np.array(human, dtype=np.int8),
        llm=np.array(llm, dtype=np.int8),
        human_name="human",
        llm_name="synthetic-llm",
    )


@pytest.fixture(scope="module")
def synthetic_report():
    config = SimulationConfig(budgets=(0.25, 0.75), seeds=2, proxy_runs=12, seed_share=0.3)
    return run_simulation(dataset=synthetic_dataset(), embed=bag_of_words_embed, config=config)


def test_split_by_prompt_never_puts_one_prompt_on_both_sides():
    keys = [f"p{i // 3}" for i in range(90)]
    pool, test = split_by_prompt(keys=keys, test_share=0.3, seed=5)
    assert {keys[i] for i in pool}.isdisjoint({keys[i] for i in test})
    assert len(pool) + len(test) == 90 and 27 <= len(test) <= 29


def test_feature_filled_subset_has_exactly_the_requested_size():
    matrix = np.random.default_rng(0).random((40, 6)) < 0.3
    for size in (0, 1, 17, 40):
        chosen = feature_filled_subset(matrix=matrix, size=size, rng=np.random.default_rng(size))
        assert len(np.unique(chosen)) == size


def test_synthetic_simulation_reports_every_strategy_at_every_budget(synthetic_report):
    rows = {(row.strategy, row.budget_share): row for row in synthetic_report.summary}
    budgeted = [s for s in STRATEGIES if s not in ("all-human", "all-llm")]
    expected = {(s, b) for s in budgeted for b in (0.25, 0.75)}
    expected |= {("all-human", 1.0), ("all-llm", 0.0)}
    assert set(rows) == expected
    assert all(row.runs == 2 for row in rows.values())
    table = format_table(synthetic_report)
    assert all(rule in table for rule in HONESTY_RULES)
    json.dumps(synthetic_report.to_json())


def test_composition_takes_human_labels_only_where_routed(synthetic_report):
    runs = {(r.strategy, r.seed): r for r in synthetic_report.runs}
    for seed in range(2):
        all_llm, all_human = runs["all-llm", seed], runs["all-human", seed]
        assert all_human.agreement == 1.0
        assert all_human.dropped == 0 and all_human.n_train_pairs == all_human.budget
        pool_size = all_human.budget
        assert all_llm.n_train_pairs + all_llm.dropped == pool_size
        # The LLM ties 5% of the time: all-llm drops about that many, humans none.
        assert all_llm.dropped == pytest.approx(0.05 * pool_size, abs=0.05 * pool_size)
    # Agreement is over items with a decisive human label; an LLM tie there counts as a miss.
    assert 0.6 < np.mean([runs["all-llm", s].agreement for s in range(2)]) < 0.8
    assert all(
        runs["all-llm", s].composed_undecided == runs["all-llm", s].dropped for s in range(2)
    )


def test_seeded_strategies_spend_their_seed_within_the_budget(synthetic_report):
    for run in synthetic_report.runs:
        if run.strategy == "disagreement-topk":
            assert 0 < run.seed_items <= run.budget // 2
        elif run.strategy.startswith("ppm-"):
            # Too small a seed to split into proxy training and evaluation: no PPM, no seed.
            no_ppm = run.ppm_source.startswith("no PPM")
            assert (run.seed_items == 0) == no_ppm and run.seed_items <= run.budget // 2
            assert no_ppm == (run.budget_share == 0.25)
        elif run.strategy in ("error-model", "oracle"):
            # Every human label they read is one they route: all of the budget is "seed".
            assert run.seed_items == run.budget
        else:
            assert run.seed_items == 0


def test_human_labels_help_the_proxy_on_synthetic_data(synthetic_report):
    rows = {(row.strategy, row.budget_share): row for row in synthetic_report.summary}
    # Measured: all-human 1.00, all-llm 0.93 to 0.97 (30% LLM errors on a linearly separable task).
    assert rows["all-human", 1.0].accuracy_mean >= rows["all-llm", 0.0].accuracy_mean
    assert rows["all-human", 1.0].accuracy_mean >= 0.9


def test_seeded_predictor_sees_full_pool_counts_from_the_rest():
    rng = np.random.default_rng(1)
    matrix = rng.random((30, 5)) < 0.4
    counts = rng.random((40, 5)) * 0.5
    scores = counts @ rng.normal(size=5) + (counts[:, 0] * counts[:, 1])
    predictor = fit_predictor(
        kind="quadratic",
        counts=counts,
        scores=scores,
        feature_names=[f"f{i}" for i in range(5)],
        feature_version="test",
        folds=4,
    )
    seed = np.array([0, 3, 7])
    rest = np.setdiff1d(np.arange(30), seed)
    wrapped = _SeededPredictor(
        base=predictor,
        seed_counts=counts_of(matrix=matrix, human=seed, n_pool=30),
        scale=len(rest) / 30,
    )
    extra = rest[[1, 4, 9, 12]]
    full = np.zeros(30, dtype=bool)
    full[seed] = True
    full[extra] = True
    direct = predictor.predict_unchecked(counts_of(matrix=matrix, human=full, n_pool=30))
    seen_from_rest = counts_of(matrix=matrix[rest], human=np.isin(rest, extra), n_pool=len(rest))
    assert wrapped.predict_unchecked(seen_from_rest) == pytest.approx(direct)
    assert wrapped.quadratic_form().evaluate(seen_from_rest[None, :]) == pytest.approx(direct)


def test_search_keeps_the_seed_and_routes_exactly_the_budget():
    rng = np.random.default_rng(2)
    matrix = rng.random((50, 4)) < 0.5
    counts = rng.random((30, 4)) * 0.6
    predictor = fit_predictor(
        kind="linear",
        counts=counts,
        scores=counts @ np.array([1.0, -1.0, 0.5, 0.0]),
        feature_names=list("abcd"),
        feature_version="test",
        folds=3,
    )

    class Table:
        ids = tuple(range(50))
        names = tuple("abcd")
        version = "test"

    Table.matrix = matrix
    for search in ("greedy", "sampling"):
        human, _ = search_human_set(
            predictor=predictor,
            features=Table,
            budget=20,
            forced=np.array([1, 2, 3]),
            search=search,
            candidates=64,
            rng_seed=0,
        )
        assert human.sum() == 20 and human[[1, 2, 3]].all()


def synthetic_pool(*, n: int = 120, seed: int = 0, llm_seed: int = 0, budget: int = 60):
    """A PoolView of ``n`` items with random features and embeddings in which the human label
    is readable from the embeddings, and LLM labels right 70% of the time, plus the human
    labels (kept out of the view)."""
    from routing.core.features import FeatureTable
    from routing.core.simulation import PoolView

    rng = np.random.default_rng(seed)
    emb_a = rng.normal(size=(n, 16)).astype(np.float32)
    emb_b = rng.normal(size=(n, 16)).astype(np.float32)
    human = np.where(emb_a[:, 0] > emb_b[:, 0], LABEL_A, LABEL_B).astype(np.int8)
    wrong = np.random.default_rng(llm_seed).random(n) < 0.3
    llm = np.where(wrong, LABEL_A + LABEL_B - human, human).astype(np.int8)
    names = tuple(f"f{k}" for k in range(6))
    features = FeatureTable(
        version="test",
        ids=tuple(f"p{i}" for i in range(n)),
        names=names,
        matrix=rng.random((n, len(names))) < 0.4,
        raw={},
    )
    view = PoolView(
        ids=features.ids, features=features, llm=llm, emb_a=emb_a, emb_b=emb_b, budget=budget
    )
    return view, human


def test_seed_ppm_is_fitted_on_human_shares_spanning_its_miniature_pool():
    from routing.core.simulation.seed_ppm import SEED_EVAL_SHARE, fit_seed_ppm

    pool, human = synthetic_pool()
    seed = np.arange(0, 120, 2)  # 60 seed items
    fitted = fit_seed_ppm(
        pool=pool,
        seed_indices=seed,
        seed_labels=human[seed],
        runs=24,
        kind="linear",
        l2=1.0,
        rng_seed=0,
    )
    assert fitted.eval_items == round(SEED_EVAL_SHARE * 60) == 24
    assert fitted.train_items == 36 and fitted.splits >= 2
    # The runs cover nearly the whole [0, 1] range the router will query (a pool-wide fit
    # topped out at |seed train| / n = 0.3 here).
    low, high = fitted.share_range
    assert low < 0.15 and high > 0.85
    assert fitted.count_max.max() > 0.3
    # Human labels beat 30% wrong LLM labels inside the seed: more humans, higher proxy score.
    predicted = fitted.predictor.predict_unchecked(np.stack([fitted.count_min, fitted.count_max]))
    assert predicted[1] > predicted[0]


def test_router_queries_outside_the_seed_ppm_runs_are_flagged():
    from routing.core.simulation import fit_seed_ppm

    pool, human = synthetic_pool()
    seed = np.arange(40)
    fitted = fit_seed_ppm(
        pool=pool,
        seed_indices=seed,
        seed_labels=human[seed],
        runs=12,
        kind="linear",
        l2=1.0,
        rng_seed=0,
    )
    inside = fitted.describe_query(counts=(fitted.count_min + fitted.count_max) / 2, share=0.5)
    assert not inside["query_share_outside_fit"] and inside["query_features_outside_fit"] == 0
    beyond = fitted.describe_query(counts=fitted.count_max + 0.01, share=1.5)
    assert beyond["query_share_outside_fit"]
    assert beyond["query_features_outside_fit"] == len(pool.features.names)


def test_seed_ppm_fits_are_shared_only_by_the_same_pool_and_rng_seed():
    from routing.core.simulation import HumanLabelOracle, PPMStrategy

    config = SimulationConfig(proxy_runs=6, seed_share=0.25, ppm_kind="linear")
    cache: dict = {}
    strategy = PPMStrategy(name="ppm-greedy", search="greedy", config=config, fit_cache=cache)

    def plan(pool, human, rng_seed):
        oracle = HumanLabelOracle(labels=human, budget=pool.budget)
        return strategy.plan(pool=pool, oracle=oracle, rng_seed=rng_seed)

    pool, human = synthetic_pool(llm_seed=0)
    plan(pool, human, 0)
    plan(pool, human, 0)
    assert len(cache) == 1  # the same pool, seed and rng seed: fitted once
    # Same size, so the same seed positions, but other LLM labels: another fit.
    other_llm, _ = synthetic_pool(llm_seed=1)
    plan(other_llm, human, 0)
    assert len(cache) == 2
    plan(pool, human, 1)
    assert len(cache) == 3


def test_disagreement_model_finds_a_planted_signal():
    rng = np.random.default_rng(4)
    n = 400
    matrix = rng.random((n, 6)) < 0.5
    human = np.where(rng.random(n) < 0.5, LABEL_A, LABEL_B).astype(np.int8)
    flip = matrix[:, 2] & (rng.random(n) < 0.8)  # the LLM errs mostly where feature 2 is set
    llm = np.where(flip, LABEL_A + LABEL_B - human, human).astype(np.int8)
    design, names = build_disagreement_design(matrix=matrix, names=list("abcdef"), llm=llm)
    seed = np.arange(100, 200)
    usable, disagree = disagreement_targets(human=human[seed], llm=llm[seed])
    model = fit_disagreement_model(
        design=design[seed[usable]], names=names, disagree=disagree[usable], seed=0
    )
    assert model.cv_auc is not None and model.cv_auc > 0.8  # measured 0.86
    routed = route_by_disagreement(
        model=model, design=design, llm=llm, seed_indices=seed, budget=200, rng_seed=0
    )
    assert routed.sum() == 200 and routed[seed].all()
    outside = np.setdiff1d(np.arange(n), seed)
    assert matrix[outside][routed[outside], 2].mean() > 0.9


def known_model(probability_of_feature: float) -> DisagreementModel:
    """P(disagree) = 0.05 without the feature, ``probability_of_feature`` with it."""
    low = np.log(0.05 / 0.95)
    high = np.log(probability_of_feature / (1 - probability_of_feature))
    return DisagreementModel(
        version="test",
        names=("f",),
        coef=np.array([high - low]),
        intercept=float(low),
        base_rate=0.0,
        n_seed=0,
        cv_auc=None,
    )


@pytest.mark.parametrize(("p_error", "first"), [(0.3, "undecided"), (0.9, "likely wrong")])
def test_undecided_llm_labels_go_first_unless_a_decisive_one_is_likely_wrong(p_error, first):
    # Items 0-3 carry the feature (LLM wrong with p_error), 4-7 are LLM ties, 8-19 neither.
    design = np.zeros((20, 1))
    design[:4, 0] = 1
    llm = np.full(20, LABEL_A, dtype=np.int8)
    llm[4:8] = LABEL_TIE
    routed = route_by_disagreement(
        model=known_model(p_error),
        design=design,
        llm=llm,
        seed_indices=np.array([], dtype=np.int64),
        budget=4,
        rng_seed=0,
    )
    expected = np.arange(4, 8) if first == "undecided" else np.arange(4)
    assert np.flatnonzero(routed).tolist() == expected.tolist()


@pytest.mark.slow
def test_hh_rlhf_simulation_with_the_local_judge_as_llm_annotator(
    tmp_path, capsys, hh_harmless_path, cached_minilm_encoder
):
    """Converts hh-rlhf (pairs the judge was not fitted on), keeps 150, labels them with the
    local judge through ``--llm local-judge`` and runs every strategy once at a 50% budget."""
    import gzip

    from routing.core.__main__ import main

    data = tmp_path / "hh"
    assert main(["convert-hh-rlhf", "--input", str(hh_harmless_path), "--out-dir", str(data)]) == 0
    for name in ("instances.jsonl.gz", "labels.jsonl.gz"):
        with gzip.open(data / name, "rt") as handle:
            lines = handle.readlines()
        assert len(lines) == 806  # 807 pairs the judge never saw, 1 with an empty reply
        with gzip.open(data / f"small-{name}", "wt") as handle:
            handle.writelines(lines[:150])
    out = tmp_path / "report.json"
    code = main(
        [
            "simulate",
            "--instances", str(data / "small-instances.jsonl.gz"),
            "--labels", str(data / "small-labels.jsonl.gz"),
            "--llm", "local-judge",
            "--budgets", "0.5",
            "--seeds", "1",
            "--proxy-runs", "12",
            # The session's embedding cache: texts other tests embedded are not embedded again.
            "--cache-dir", str(cached_minilm_encoder.cache.directory),
            "--json", str(out),
            "--quiet",
        ]
    )  # fmt: skip
    assert code == 0
    report = json.loads(out.read_text())
    assert report["dataset"]["llm_name"] == "local-judge"
    # Measured on these 150 pairs: the judge agrees with the crowdworker on about 60%.
    assert 0.5 < report["dataset"]["llm_agreement"] < 0.75
    strategies = {row["strategy"] for row in report["summary"]}
    assert strategies == set(STRATEGIES)
    assert "Rules of honesty" in capsys.readouterr().out
    runs = {row["strategy"]: row for row in report["runs"]}

    # Recompute, independently of the simulation: the split, the judge's labels, the agreement
    # and the all-human proxy trained directly on the pool's human labels.
    from models_rm.conversation import render_conversation
    from models_rm.judge import load_pairwise_judge
    from models_rm.proxy import run_proxy
    from routing.core.datasets import load_dataset
    from routing.core.simulation import label_with_local_judge

    dataset = load_dataset(
        instances_path=data / "small-instances.jsonl.gz",
        labels_path=data / "small-labels.jsonl.gz",
        llm=None,
    )
    judge = load_pairwise_judge(cache_dir=cached_minilm_encoder.cache.directory)
    dataset = label_with_local_judge(dataset=dataset, judge=judge)
    keys = [instance.prompt_key for instance in dataset.instances]
    pool, test = split_by_prompt(
        keys=keys, test_share=report["config"]["test_share"], seed=runs["all-human"]["seed"]
    )
    human, llm = dataset.human, dataset.llm
    decided = pool[
        np.isin(human[pool], (LABEL_A, LABEL_B)) & np.isin(llm[pool], (LABEL_A, LABEL_B))
    ]
    assert runs["all-human"]["agreement"] == 1.0
    assert runs["all-llm"]["agreement"] == pytest.approx(np.mean(human[decided] == llm[decided]))

    def chosen_and_rejected(index):
        index = index[np.isin(human[index], (LABEL_A, LABEL_B))]
        texts = []
        for i in index:
            item = dataset.instances[i]
            a_wins = human[i] == LABEL_A
            for response in (
                (item.response_a, item.response_b) if a_wins else (item.response_b, item.response_a)
            ):
                texts.append(
                    render_conversation(list(item.messages), response, max_context_messages=1)
                )
        vectors = np.asarray(cached_minilm_encoder.encode(texts), dtype=np.float32)
        return vectors[0::2], vectors[1::2]

    train_chosen, train_rejected = chosen_and_rejected(pool)
    eval_chosen, eval_rejected = chosen_and_rejected(test)
    direct = run_proxy(
        train_chosen=train_chosen,
        train_rejected=train_rejected,
        eval_chosen=eval_chosen,
        eval_rejected=eval_rejected,
        l2=report["config"]["l2"],
    )
    assert runs["all-human"]["n_train_pairs"] == direct.n_train
    assert runs["all-human"]["test_accuracy"] == pytest.approx(direct.accuracy, abs=1e-12)
