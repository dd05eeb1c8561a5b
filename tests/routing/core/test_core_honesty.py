"""The simulation's rules of honesty are enforced in code: strategies see human labels only for
the seed they buy, plans route exactly their budget, and test items never reach a strategy."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from routing.core.datasets import LABEL_A, LABEL_B, Instance, PairwiseDataset
from routing.core.simulation import (
    HonestyViolation,
    HumanLabelOracle,
    PoolView,
    RoutingPlan,
    SimulationConfig,
    run_simulation,
    split_by_prompt,
)
from tests.routing.core.fake_embeddings import bag_of_words_embed


def small_dataset(n: int = 60) -> PairwiseDataset:
    rng = np.random.default_rng(3)
    instances, human = [], []
    for i in range(n):
        better = "A" if rng.random() < 0.5 else "B"
        a = "good answer indeed" if better == "A" else "poor answer"
        b = "poor reply" if better == "A" else "good reply indeed"
        instances.append(
            Instance(
                id=f"x{i}",
                # Pairs of instances share a prompt: the split must keep them together.
                messages=({"role": "user", "content": f"prompt {i // 2}"},),
                response_a=a,
                response_b=b,
                model_a="m",
                model_b="m",
                metadata={},
                line=i + 1,
            )
        )
        human.append(LABEL_A if better == "A" else LABEL_B)
    human = np.array(human, dtype=np.int8)
    llm = np.where(rng.random(n) < 0.7, human, np.int8(LABEL_A + LABEL_B) - human).astype(np.int8)
    return PairwiseDataset(
        instances=tuple(instances), human=human, llm=llm, human_name="human", llm_name="fake-llm"
    )


CONFIG = SimulationConfig(budgets=(0.5,), seeds=2, strategies=("random",), test_share=0.3)


def simulate(strategy) -> None:
    run_simulation(
        dataset=small_dataset(),
        embed=bag_of_words_embed,
        config=CONFIG,
        strategies={"custom": strategy},
    )


def random_human(pool: PoolView, rng_seed: int, seed: np.ndarray) -> np.ndarray:
    human = np.zeros(pool.n, dtype=bool)
    human[seed] = True
    rest = np.flatnonzero(~human)
    picked = np.random.default_rng(rng_seed).choice(rest, pool.budget - len(seed), replace=False)
    human[picked] = True
    return human


class PeekingStrategy:
    """Buys a seed of 3, then asks for the label of an item outside it."""

    name = "peeking"

    def plan(self, *, pool, oracle, rng_seed):
        oracle.declare_seed([0, 1, 2])
        oracle.labels([3])
        raise AssertionError("the oracle answered a request outside the seed")


class RecordingStrategy:
    """Routes at random and records everything it was given."""

    name = "recording"

    def __init__(self):
        self.seen: list[tuple[PoolView, HumanLabelOracle]] = []

    def plan(self, *, pool, oracle, rng_seed):
        self.seen.append((pool, oracle))
        return RoutingPlan(human=random_human(pool, rng_seed, oracle.seed), seed=oracle.seed)


def test_oracle_reveals_labels_of_the_declared_seed_only():
    oracle = HumanLabelOracle(labels=np.array([1, 2, 1, 2, 1], dtype=np.int8), budget=3)
    assert oracle.declare_seed([3, 0]).tolist() == [2, 1]
    assert oracle.labels([0]).tolist() == [1]
    with pytest.raises(HonestyViolation, match="outside the declared seed"):
        oracle.labels([1])


def test_oracle_refuses_a_seed_larger_than_the_budget():
    oracle = HumanLabelOracle(labels=np.ones(10, dtype=np.int8), budget=2)
    with pytest.raises(HonestyViolation, match="exceeds the human budget of 2"):
        oracle.declare_seed([0, 1, 2])


def test_oracle_refuses_a_second_different_seed_but_repeats_the_same_one():
    oracle = HumanLabelOracle(labels=np.array([1, 2, 1, 2], dtype=np.int8), budget=4)
    oracle.declare_seed([1])
    assert oracle.declare_seed([1]).tolist() == [2]
    with pytest.raises(HonestyViolation, match="already declared"):
        oracle.declare_seed([1, 2])


def test_oracle_refuses_positions_outside_the_pool():
    oracle = HumanLabelOracle(labels=np.ones(4, dtype=np.int8), budget=4)
    with pytest.raises(HonestyViolation, match="pool positions"):
        oracle.declare_seed([4])


def test_oracle_private_reveal_refuses_indices_outside_the_declared_seed():
    labels = np.array([1, 2, 2, 1, 1, 2], dtype=np.int8)
    oracle = HumanLabelOracle(labels=labels, budget=2)
    with pytest.raises(HonestyViolation, match="outside the declared seed"):
        oracle._reveal(np.arange(oracle.size))  # before any seed: nothing at all
    oracle.declare_seed([4, 1])
    assert oracle._reveal([1, 4]).tolist() == [2, 1]
    with pytest.raises(HonestyViolation, match="outside the declared seed"):
        oracle._reveal(np.arange(oracle.size))


def test_oracle_private_declare_keeps_the_budget_and_the_first_seed():
    oracle = HumanLabelOracle(labels=np.ones(6, dtype=np.int8), budget=2)
    with pytest.raises(HonestyViolation, match="exceeds the human budget"):
        oracle._declare(np.arange(6))
    oracle._declare([0])
    with pytest.raises(HonestyViolation, match="already declared"):
        oracle._declare([0, 1])


def test_strategy_that_peeks_at_pool_labels_outside_its_seed_is_refused():
    with pytest.raises(HonestyViolation, match="outside the declared seed"):
        simulate(PeekingStrategy())


def test_plan_that_routes_more_than_the_budget_is_refused():
    class Greedy:
        name = "greedy-for-humans"

        def plan(self, *, pool, oracle, rng_seed):
            return RoutingPlan(human=np.ones(pool.n, dtype=bool), seed=oracle.seed)

    with pytest.raises(HonestyViolation, match="budget is"):
        simulate(Greedy())


def test_plan_that_leaves_its_seed_to_the_llm_is_refused():
    class Forgetful:
        name = "forgetful"

        def plan(self, *, pool, oracle, rng_seed):
            oracle.declare_seed([0, 1])
            human = np.zeros(pool.n, dtype=bool)
            human[2 : 2 + pool.budget] = True
            return RoutingPlan(human=human, seed=oracle.seed)

    with pytest.raises(HonestyViolation, match="seed item"):
        simulate(Forgetful())


def test_strategies_never_receive_test_items_or_their_labels():
    dataset = small_dataset()
    recorder = RecordingStrategy()
    run_simulation(
        dataset=dataset, embed=bag_of_words_embed, config=CONFIG, strategies={"rec": recorder}
    )
    keys = [instance.prompt_key for instance in dataset.instances]
    assert len(recorder.seen) == CONFIG.seeds
    for seed, (pool, oracle) in enumerate(recorder.seen):
        _, test_index = split_by_prompt(keys=keys, test_share=CONFIG.test_share, seed=seed)
        test_ids = {dataset.instances[i].id for i in test_index}
        assert test_ids and not test_ids & set(pool.ids)
        assert not test_ids & set(pool.features.ids)
        # Every array a strategy gets has one row per pool item: nothing of the test set rides
        # along, and no field carries human labels.
        for field in fields(pool):
            value = getattr(pool, field.name)
            if isinstance(value, np.ndarray):
                assert len(value) == pool.n, field.name
        assert pool.features.matrix.shape[0] == pool.n
        assert oracle.size == pool.n
        pool_index = [dataset.ids.index(i) for i in pool.ids]
        assert np.array_equal(pool.llm, dataset.llm[pool_index])
        assert not np.array_equal(pool.llm, dataset.human[pool_index])


def test_cli_refuses_a_predictor_fitted_on_the_same_instances(tmp_path, capsys):
    import json

    from routing.core.__main__ import main
    from routing.core.datasets import load_instances
    from routing.core.fingerprints import fingerprint_of
    from routing.core.predictors import fit_predictor, save_predictor

    rows = [
        {
            "id": f"q{i}",
            "prompt": f"question {i}",
            "responses": [{"text": f"answer {i}"}, {"text": f"reply {i}"}],
        }
        for i in range(6)
    ]
    instances = tmp_path / "I.jsonl"
    instances.write_text("".join(json.dumps(row) + "\n" for row in rows))
    labels = tmp_path / "L.jsonl"
    labels.write_text(
        "".join(json.dumps({"id": r["id"], "human": "A", "llm": {"j": "B"}}) + "\n" for r in rows)
    )
    seen = [fingerprint_of(i) for i in load_instances(instances)[:2]]
    counts = np.random.default_rng(0).random((8, 2))
    predictor = fit_predictor(
        kind="linear",
        counts=counts,
        scores=counts.sum(axis=1),
        feature_names=["f1", "f2"],
        feature_version="test",
        folds=2,
        provenance={"instance_fingerprints": seen},
    )
    path = save_predictor(predictor, tmp_path / "predictor.json")
    code = main(
        ["simulate", "--instances", str(instances), "--labels", str(labels), "--llm", "j"]
        + ["--predictor", str(path), "--quiet"]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "fitted on 2 of these instances" in err and "leak" in err


def write_dataset_files(tmp_path, dataset: PairwiseDataset, *, llm_name: str = "j"):
    """``dataset`` as the CLI's I.jsonl and L.jsonl (LLM labels under ``llm_name``)."""
    import json

    from routing.core.datasets import LABEL_NAMES

    instances, labels = tmp_path / "I.jsonl", tmp_path / "L.jsonl"
    rows = [
        {
            "id": i.id,
            "messages": list(i.messages),
            "responses": [{"text": i.response_a}, {"text": i.response_b}],
        }
        for i in dataset.instances
    ]
    instances.write_text("".join(json.dumps(row) + "\n" for row in rows))
    labels.write_text(
        "".join(
            json.dumps({"id": i.id, "human": LABEL_NAMES[h], "llm": {llm_name: LABEL_NAMES[m]}})
            + "\n"
            for i, h, m in zip(dataset.instances, dataset.human, dataset.llm, strict=True)
        )
    )
    return instances, labels


def linear_predictor(*, provenance: dict, dataset: PairwiseDataset | None = None):
    """A linear PPM over the dataset's pool features without the LLM-signal ones (as the
    default artifact), or over two made-up features when no dataset is given."""
    from routing.core.predictors import fit_predictor
    from routing.core.simulation import build_pool_features

    names, version = ["f1", "f2"], "test"
    if dataset is not None:
        table = build_pool_features(
            dataset=dataset, index=np.arange(len(dataset)), embed=bag_of_words_embed, tags=None
        )
        names = [name for name in table.names if not name.startswith("llm.")]
        version = table.version
    counts = np.random.default_rng(0).random((12, len(names)))
    return fit_predictor(
        kind="linear",
        counts=counts,
        scores=counts[:, 0],
        feature_names=names,
        feature_version=version,
        folds=2,
        provenance=provenance,
    )


def test_fingerprint_ignores_whitespace_and_which_reply_is_a():
    from routing.core.fingerprints import instance_fingerprint

    one = instance_fingerprint(prompt="user: Hi  there\n", response_a="Yes.", response_b="No,\tno")
    assert one == instance_fingerprint(
        prompt="user: Hi there", response_a=" No, no ", response_b="Yes."
    )
    assert len(one) == 12 and int(one, 16) >= 0
    assert one != instance_fingerprint(prompt="user: Hi there", response_a="Yes", response_b="No")


def test_models_rm_pair_fingerprint_agrees_with_routing_on_converted_hh_pairs(tmp_path):
    from models_rm.datasets import PreferencePair
    from models_rm.fit_default_judge import pair_fingerprint
    from routing.core.datasets import convert_hh_rlhf, load_instances, write_instances
    from routing.core.fingerprints import fingerprint_of

    pairs = [
        PreferencePair(
            messages=({"role": "user", "content": "How do I bake\n\nbread?"},),
            chosen="Mix flour,  water and yeast.",
            rejected="No idea.",
        ),
        PreferencePair(
            messages=(
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "Tell me a joke"},
            ),
            chosen="Why did the chicken cross the road?",
            rejected="  To get to the\nother side. ",
        ),
        PreferencePair(
            messages=({"role": "user", "content": "Ünïcödé ✓"},), chosen="ja", rejected="nein"
        ),
    ]
    rows, _ = convert_hh_rlhf(pairs=pairs, seed=1)
    write_instances(path=tmp_path / "I.jsonl", rows=rows)
    instances = load_instances(tmp_path / "I.jsonl")
    assert [fingerprint_of(i) for i in instances] == [
        pair_fingerprint(messages=p.messages, chosen=p.chosen, rejected=p.rejected) for p in pairs
    ]


def test_shipped_judge_lists_the_fingerprints_of_its_training_pairs(hh_harmless_path):
    from models_rm.datasets import load_hh_rlhf_pairs, split_pairs
    from models_rm.fit_default_judge import pair_fingerprint
    from models_rm.judge import DEFAULT_ARTIFACT_DIR, read_judge_config

    provenance = read_judge_config(DEFAULT_ARTIFACT_DIR)["provenance"]
    train, held_out = split_pairs(
        load_hh_rlhf_pairs(hh_harmless_path),
        train_size=int(provenance["train_pairs"]),
        seed=int(provenance["seed"]),
    )
    listed = set(provenance["train_pair_fingerprints"])

    def fingerprints(pairs):
        return {
            pair_fingerprint(messages=p.messages, chosen=p.chosen, rejected=p.rejected)
            for p in pairs
        }

    assert listed == fingerprints(train)
    assert not listed & fingerprints(held_out)


def test_simulation_refuses_a_predictor_fitted_on_its_pairs():
    from routing.core.fingerprints import fingerprint_of

    dataset = small_dataset()
    listed = {fingerprint_of(i) for i in dataset.instances[:3]}
    # Identical instances share a fingerprint: every copy of a seen pair counts.
    seen = sum(fingerprint_of(i) in listed for i in dataset.instances)
    assert seen >= 3
    predictor = linear_predictor(provenance={"instance_fingerprints": sorted(listed)})
    with pytest.raises(HonestyViolation, match=f"fitted on {seen} of these instances"):
        run_simulation(
            dataset=dataset, embed=bag_of_words_embed, config=CONFIG, predictor=predictor
        )


def test_simulation_refuses_a_predictor_listing_no_fingerprints_unless_allowed(tmp_path, capsys):
    from routing.core.__main__ import main
    from routing.core.predictors import save_predictor
    from routing.core.simulation import format_table

    dataset = small_dataset()
    predictor = linear_predictor(provenance={"dataset": "somewhere"}, dataset=dataset)
    with pytest.raises(HonestyViolation, match="lists no instance fingerprints"):
        run_simulation(
            dataset=dataset, embed=bag_of_words_embed, config=CONFIG, predictor=predictor
        )
    report = run_simulation(
        dataset=dataset,
        embed=bag_of_words_embed,
        config=CONFIG,
        predictor=predictor,
        allow_unverified_predictor=True,
    )
    assert report.to_json()["config"]["predictor_provenance"].startswith("UNVERIFIED")
    assert "Predictor provenance: UNVERIFIED" in format_table(report)

    instances, labels = write_dataset_files(tmp_path, dataset)
    path = save_predictor(predictor, tmp_path / "predictor.json")
    argv = ["simulate", "--instances", str(instances), "--labels", str(labels), "--llm", "j"]
    assert main([*argv, "--predictor", str(path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--allow-unverified-predictor" in err


def test_simulation_refuses_an_llm_annotator_fitted_on_its_pairs():
    from routing.core.fingerprints import fingerprint_of

    dataset = small_dataset()
    trained = {fingerprint_of(i) for i in dataset.instances[10:14]}
    seen = sum(fingerprint_of(i) in trained for i in dataset.instances)
    with pytest.raises(HonestyViolation, match=f"was fitted on {seen} of these pairs"):
        run_simulation(
            dataset=dataset,
            embed=bag_of_words_embed,
            config=CONFIG,
            llm_fitted_on=trained | {"0123456789ab"},
        )
    report = run_simulation(
        dataset=dataset, embed=bag_of_words_embed, config=CONFIG, llm_fitted_on={"0123456789ab"}
    )
    assert report.config["llm_training_overlap_checked"]


def test_cli_refuses_the_local_judge_on_the_pairs_it_was_trained_on(
    hh_harmless_path, tmp_path, capsys
):
    from models_rm.datasets import load_hh_rlhf_pairs, split_pairs
    from models_rm.judge import DEFAULT_ARTIFACT_DIR, read_judge_config
    from routing.core.__main__ import main

    provenance = read_judge_config(DEFAULT_ARTIFACT_DIR)["provenance"]
    train, _ = split_pairs(
        load_hh_rlhf_pairs(hh_harmless_path),
        train_size=int(provenance["train_pairs"]),
        seed=int(provenance["seed"]),
    )
    # convert-hh-rlhf skips pairs with an empty reply; every other training pair is kept.
    kept = sum(1 for p in train if p.chosen.strip() and p.rejected.strip())
    assert kept > 1400
    data = tmp_path / "hh"
    assert (
        main(
            ["convert-hh-rlhf", "--input", str(hh_harmless_path), "--out-dir", str(data)]
            + ["--keep-judge-training"]
        )
        == 0
    )
    capsys.readouterr()
    argv = ["simulate", "--instances", str(data / "instances.jsonl.gz")]
    argv += ["--labels", str(data / "labels.jsonl.gz"), "--llm", "local-judge", "--quiet"]
    assert main(argv) == 2  # refused before the judge labels anything
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"fitted on {kept} of these pairs" in err
    assert "convert-hh-rlhf without --keep-judge-training" in err


def test_a_loaded_predictor_leaves_the_llm_signal_features_to_the_other_strategies():
    from routing.core.simulation import make_strategies

    dataset = small_dataset()
    predictor = linear_predictor(
        provenance={"instance_fingerprints": ["0123456789ab"]}, dataset=dataset
    )
    config = SimulationConfig(budgets=(0.5,), seeds=1, strategies=("ppm-greedy",), test_share=0.3)
    recorder = RecordingStrategy()
    report = run_simulation(
        dataset=dataset,
        embed=bag_of_words_embed,
        config=config,
        predictor=predictor,
        strategies={**make_strategies(config=config, predictor=predictor), "rec": recorder},
    )
    ((pool, _),) = recorder.seen
    llm_signals = [name for name in pool.features.names if name.startswith("llm.")]
    assert llm_signals and not set(llm_signals) & set(predictor.feature_names)
    (ppm_run,) = [run for run in report.runs if run.strategy == "ppm-greedy"]
    assert ppm_run.predicted_score is not None and ppm_run.seed_items == 0


def test_oracle_sells_labels_round_by_round_within_the_budget_only():
    oracle = HumanLabelOracle(labels=np.array([1, 2, 1, 2, 1, 2], dtype=np.int8), budget=4)
    assert oracle.buy([5, 0]).tolist() == [2, 1]
    assert oracle.buy([0, 2]).tolist() == [1, 1]  # buying an item again is free
    assert oracle.seed.tolist() == [0, 2, 5]
    with pytest.raises(HonestyViolation, match="outside the declared seed"):
        oracle.labels([1])
    with pytest.raises(HonestyViolation, match="exceeds the human budget of 4"):
        oracle.buy([1, 3])
    oracle.buy([3])
    assert oracle.seed.tolist() == [0, 2, 3, 5]


def test_a_declared_seed_cannot_be_extended_by_buying():
    oracle = HumanLabelOracle(labels=np.ones(6, dtype=np.int8), budget=4)
    oracle.declare_seed([0])
    with pytest.raises(HonestyViolation, match="cannot be extended"):
        oracle.buy([1])


def test_a_strategy_that_reads_a_label_it_did_not_buy_fails_the_simulation():
    class Sneaky:
        name = "sneaky"

        def plan(self, *, pool, oracle, rng_seed):
            oracle.buy([0, 1])
            oracle.labels([2])  # not bought
            raise AssertionError("the oracle answered a label outside the paid set")

    with pytest.raises(HonestyViolation, match="outside the declared seed"):
        simulate(Sneaky())


def test_the_error_model_pays_for_every_human_label_it_reads():
    """It buys in rounds through the oracle; what it read is exactly what it routes."""
    from routing.core.simulation.strategies.error_model import ErrorModelStrategy

    class Audited(ErrorModelStrategy):
        def __init__(self):
            self.oracles = []

        def plan(self, *, pool, oracle, rng_seed):
            self.oracles.append(oracle)
            return super().plan(pool=pool, oracle=oracle, rng_seed=rng_seed)

    strategy = Audited()
    report = run_simulation(
        dataset=small_dataset(),
        embed=bag_of_words_embed,
        config=CONFIG,
        strategies={"error-model": strategy},
    )
    runs = [run for run in report.runs if run.strategy == "error-model"]
    assert len(runs) == len(strategy.oracles) == 2
    for run, oracle in zip(runs, strategy.oracles, strict=True):
        assert len(oracle.seed) == oracle.budget == run.budget == run.seed_items
        assert oracle.requests > 1  # several rounds, each paid as it went


def test_the_oracle_is_printed_beside_every_routed_table():
    report = run_simulation(dataset=small_dataset(), embed=bag_of_words_embed, config=CONFIG)
    strategies = {row.strategy for row in report.summary}
    assert strategies == {"random", "oracle"}
    oracle_runs = [run for run in report.runs if run.strategy == "oracle"]
    random_runs = [run for run in report.runs if run.strategy == "random"]
    for best, chance in zip(oracle_runs, random_runs, strict=True):
        assert best.agreement >= chance.agreement
    assert "reads every human label" in report.to_json()["rules"][2]
