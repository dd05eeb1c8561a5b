"""The simulation loop.

For each seed: split by prompt into a routing pool and a test set; for each budget and strategy,
let the strategy choose which pool items humans label, compose the labels (human where routed,
LLM elsewhere; ties and missing labels dropped), train a proxy reward model (frozen embeddings +
Bradley–Terry head, ``models_rm.proxy.run_proxy``) on the composed pool labels and score it on
the test set against the human labels. The rules are enforced as described in
``routing.core.simulation``.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import asdict, replace
from typing import Any

import numpy as np

from routing.core.datasets import PairwiseDataset
from routing.core.jury import choose_kept_label, shipped_jury_labels
from routing.core.router.budget import resolve_budget
from routing.core.simulation.composition import compose_labels, decisive, orient
from routing.core.simulation.config import (
    DEFAULT_STRATEGY,
    ORACLE,
    SIMULATION_VERSION,
    Embed,
    SimulationConfig,
    SimulationInputError,
)
from routing.core.simulation.honesty import (
    HONESTY_RULES,
    HumanLabelOracle,
    PoolView,
    Strategy,
    _HeldOutTest,
    check_annotator_provenance,
    check_plan,
    check_predictor_provenance,
)
from routing.core.simulation.pool_features import (
    build_pool_features,
    embed_pairs,
    features_for_predictor,
    read_only_table,
)
from routing.core.simulation.progress import _bar
from routing.core.simulation.report import RunResult, SimulationReport, summarise
from routing.core.simulation.splits import split_by_prompt
from routing.core.simulation.strategies import make_strategies
from routing.core.simulation.strategies.oracle import OracleStrategy


def _agreement(composed: np.ndarray, human: np.ndarray) -> float:
    """Share of the items with a decisive human label whose composed label is that label (a
    composed tie or missing label there counts as a disagreement: it gives no usable pair)."""
    scored = decisive(human)
    return float(np.mean(composed[scored] == human[scored])) if scored.any() else float("nan")


def _composed_undecided(composed: np.ndarray, human: np.ndarray) -> int:
    return int((decisive(human) & ~decisive(composed)).sum())


def llm_side_labels(
    *, pool: PoolView, mode: str, labelled: np.ndarray, human: np.ndarray
) -> np.ndarray:
    """The label each pool item keeps when it is not routed to a human (``mode`` as
    ``SimulationConfig.llm_label``): the main judge's, the jury label with the judges weighted
    on the human labels ``human`` of the positions ``labelled`` (a plan's calibration items), or
    the main judge's where decisive and that jury label elsewhere, or (``auto``) whichever of
    the last two matched more of those human labels."""
    if mode == "main" or not pool.jury_names:
        return pool.llm
    votes = np.concatenate([pool.llm[:, None], pool.jury_votes], axis=1)
    if mode == "auto":
        return choose_kept_label(
            votes=votes, names=(pool.llm_name, *pool.jury_names), labelled=labelled, human=human
        ).codes
    codes, _, _ = shipped_jury_labels(
        votes=votes, names=(pool.llm_name, *pool.jury_names), labelled=labelled, human=human
    )
    if mode == "fallback":
        return np.where(decisive(pool.llm), pool.llm, codes).astype(np.int8)
    return codes


def _read_only(array: np.ndarray) -> np.ndarray:
    array = np.array(array, copy=True)
    array.setflags(write=False)
    return array


def _view_for(strategy: Strategy, pool: PoolView) -> PoolView:
    """The pool as ``strategy`` sees it: a strategy routing by a loaded predictor (a
    ``predictor`` attribute, as ``PPMStrategy`` has) gets that predictor's feature columns;
    every other strategy the full table, LLM-signal features included."""
    predictor = getattr(strategy, "predictor", None)
    if predictor is None:
        return pool
    return replace(
        pool, features=features_for_predictor(features=pool.features, predictor=predictor)
    )


def check_simulation_inputs(*, dataset: PairwiseDataset, config: SimulationConfig) -> None:
    """Raise ``SimulationInputError`` (one line) when ``dataset`` cannot give a result under
    ``config``: no LLM column, no decisive human or LLM label, or prompts that cannot be split
    into a pool and a test set. Cheap (no embedding): callers run it before loading models."""
    if not dataset.llm_name:
        raise SimulationInputError("the dataset has no LLM label column")
    if not decisive(dataset.human).any():
        raise SimulationInputError("no decisive human label in the dataset")
    if not decisive(dataset.llm).any():
        raise SimulationInputError(
            f"cannot fit a proxy or a routing model on {dataset.llm_name!r}: 0 decisive LLM "
            f"labels (all {len(dataset)} are ties or missing)"
        )
    keys = [instance.prompt_key for instance in dataset.instances]
    for seed in range(config.seeds):
        split_by_prompt(keys=keys, test_share=config.test_share, seed=seed)


def run_simulation(
    *,
    dataset: PairwiseDataset,
    embed: Embed,
    config: SimulationConfig,
    tags: Any = None,
    predictor: Any = None,
    predictor_label: str = "",
    allow_unverified_predictor: bool = False,
    llm_fitted_on: Collection[str] | None = None,
    strategies: Mapping[str, Strategy] | None = None,
    progress: bool = False,
) -> SimulationReport:
    """Run every (seed, budget, strategy) of ``config`` on ``dataset``; see the module docstring.

    ``embed(texts)`` embeds rendered conversations for the proxy and responses for the cosine
    features (a ``CachedEncoder``'s ``encode``); ``tags`` is the dataset's ``TagTable`` (or
    ``None``: no tag features); ``predictor`` a loaded artifact fitted on another dataset (the
    ppm-* strategies then buy no seed). ``all-human``/``all-llm`` run once per seed at 100%/0%.
    ``strategies`` replaces the strategies named in ``config`` (for tests of the rules).

    Provenance (``HonestyViolation`` before any work): ``predictor`` must list the fingerprints
    of the pairs it was fitted on, none of them in ``dataset`` (an artifact listing none is used
    only with ``allow_unverified_predictor``, and the report says so); ``llm_fitted_on`` lists
    the fingerprints of the LLM annotator's training pairs (the local judge), none of which may
    be in ``dataset``. Inputs that cannot give a result (no decisive human or LLM label, a
    dataset whose instances all share one prompt) raise ``SimulationInputError`` (a ``ValueError``)
    saying so in one line. A run whose
    composed labels hold no decisive pair is recorded with a NaN test accuracy.
    """
    from models_rm.proxy import run_proxy

    started = time.perf_counter()
    check_simulation_inputs(dataset=dataset, config=config)
    predictor_provenance = None
    if predictor is not None:
        predictor_provenance = check_predictor_provenance(
            provenance=predictor.provenance,
            instances=dataset.instances,
            allow_unverified=allow_unverified_predictor,
        )
    if llm_fitted_on is not None:
        check_annotator_provenance(
            fitted_on=llm_fitted_on, instances=dataset.instances, annotator=dataset.llm_name
        )
    if strategies is None:
        strategies = make_strategies(
            config=config, predictor=predictor, predictor_label=predictor_label
        )
    budgeted = [name for name in strategies if name not in ("all-human", "all-llm")]
    if budgeted and ORACLE not in strategies:  # the upper bound is printed beside every table
        strategies = {**strategies, ORACLE: OracleStrategy()}
    keys = [instance.prompt_key for instance in dataset.instances]
    emb_a, emb_b = embed_pairs(
        dataset=dataset, embed=embed, context_messages=config.context_messages
    )
    jobs = []
    for seed in range(config.seeds):
        for name in strategies:
            shares = {"all-human": (1.0,), "all-llm": (0.0,)}.get(name, config.budgets)
            jobs += [(seed, share, name) for share in shares]
    bar = _bar(total=len(jobs), desc="simulating", unit="run", enabled=progress)
    runs: list[RunResult] = []
    splits = []
    for seed in range(config.seeds):
        pool_idx, test_idx = split_by_prompt(keys=keys, test_share=config.test_share, seed=seed)
        test_labels = dataset.human[test_idx]
        if not decisive(test_labels).any():
            raise SimulationInputError(
                f"seed {seed}: no decisive human label among the {len(test_idx)} test items "
                "(nothing to score the proxies on)"
            )
        test_chosen, test_rejected = orient(
            labels=test_labels, emb_a=emb_a[test_idx], emb_b=emb_b[test_idx]
        )
        test = _HeldOutTest(
            ids=tuple(dataset.instances[i].id for i in test_idx),
            emb_chosen=test_chosen,
            emb_rejected=test_rejected,
            dropped=int((~decisive(test_labels)).sum()),
        )
        # The full table (LLM-signal features included) for every strategy; one routing by a
        # loaded predictor sees that predictor's columns (``_view_for``). Read-only arrays: one
        # strategy cannot change what the next one sees.
        features = read_only_table(
            build_pool_features(dataset=dataset, index=pool_idx, embed=embed, tags=tags)
        )
        if predictor is not None:  # a dataset lacking the predictor's features: fail now
            features_for_predictor(features=features, predictor=predictor)
        pool_human = dataset.human[pool_idx]
        pool_llm = dataset.llm[pool_idx]
        pool = PoolView(
            ids=tuple(dataset.instances[i].id for i in pool_idx),
            features=features,
            llm=_read_only(pool_llm),
            emb_a=_read_only(emb_a[pool_idx]),
            emb_b=_read_only(emb_b[pool_idx]),
            budget=0,
            llm_label=config.llm_label,
            llm_name=dataset.llm_name,
            jury_names=dataset.jury_names,
            jury=None if dataset.jury is None else _read_only(dataset.jury[pool_idx]),
            llm_confidence=None
            if dataset.llm_prob_a is None
            else _read_only(np.abs(dataset.llm_prob_a[pool_idx] - 0.5) * 2.0),
        )
        splits.append(
            {
                "seed": seed,
                "pool": len(pool_idx),
                "test": len(test_idx),
                "test_pairs": len(test_chosen),
                "features": len(features.names),
            }
        )
        for job_seed, share, name in jobs:
            if job_seed != seed:
                continue
            budget = resolve_budget(budget=float(share), n=pool.n)
            oracle = HumanLabelOracle(labels=pool_human, budget=budget)
            run_started = time.perf_counter()
            view = _view_for(strategies[name], replace(pool, budget=budget))
            if getattr(strategies[name], "reads_all_human_labels", False):
                every = np.arange(pool.n)
                llm_side = llm_side_labels(
                    pool=pool, mode=config.llm_label, labelled=every, human=pool_human
                )
                plan = strategies[name].plan_with_labels(
                    pool=view, human=pool_human, rng_seed=seed, llm_labels=llm_side
                )
            else:
                plan = strategies[name].plan(pool=view, oracle=oracle, rng_seed=seed)
                check_plan(plan=plan, oracle=oracle, n_pool=pool.n)
                paid = np.flatnonzero(plan.human)
                if plan.calibration is not None:
                    paid = np.unique(np.asarray(plan.calibration, dtype=np.int64))
                llm_side = llm_side_labels(
                    pool=pool, mode=config.llm_label, labelled=paid, human=pool_human[paid]
                )
            composed = compose_labels(human_mask=plan.human, human=pool_human, llm=llm_side)
            train_chosen, train_rejected = orient(
                labels=composed, emb_a=pool.emb_a, emb_b=pool.emb_b
            )
            accuracy = float("nan")  # no decisive composed label: no proxy, no score
            if len(train_chosen):
                accuracy = run_proxy(
                    train_chosen=train_chosen,
                    train_rejected=train_rejected,
                    eval_chosen=test.emb_chosen,
                    eval_rejected=test.emb_rejected,
                    l2=config.l2,
                    seed=seed,
                ).accuracy
            runs.append(
                RunResult(
                    strategy=name,
                    budget_share=share,
                    budget=budget,
                    seed=seed,
                    test_accuracy=accuracy,
                    agreement=_agreement(composed, pool_human),
                    composed_undecided=_composed_undecided(composed, pool_human),
                    n_train_pairs=len(train_chosen),
                    dropped=int((~decisive(composed)).sum()),
                    seed_items=len(plan.seed),
                    seconds=time.perf_counter() - run_started,
                    ppm_source=plan.ppm_source,
                    predicted_score=plan.predicted_score,
                    details=dict(plan.details),
                )
            )
            bar.update(1)
    bar.close()
    both = decisive(dataset.human) & decisive(dataset.llm)
    return SimulationReport(
        version=SIMULATION_VERSION,
        rules=HONESTY_RULES,
        config={
            **asdict(config),
            "default_strategy": DEFAULT_STRATEGY,
            "predictor_label": predictor_label,
            "allow_unverified_predictor": allow_unverified_predictor,
            "predictor_provenance": predictor_provenance,
            "llm_training_overlap_checked": llm_fitted_on is not None,
        },
        dataset={
            "n": len(dataset),
            "human_name": dataset.human_name,
            "llm_name": dataset.llm_name,
            "llm_agreement": float(np.mean(dataset.human[both] == dataset.llm[both]))
            if both.any()
            else float("nan"),
            "llm_undecided": int((~decisive(dataset.llm)).sum()),
            "human_undecided": int((~decisive(dataset.human)).sum()),
            "llm_agreement_all": float(
                np.mean(
                    dataset.llm[decisive(dataset.human)] == dataset.human[decisive(dataset.human)]
                )
            )
            if decisive(dataset.human).any()
            else float("nan"),
            "jury": list(dataset.jury_names),
            "skipped_empty_responses": dataset.skipped_empty_responses,
            "unlabelled_instances": dataset.unlabelled_instances,
            "pool_mean": float(np.mean([s["pool"] for s in splits])),
            "test_mean": float(np.mean([s["test"] for s in splits])),
            "sources": dict(dataset.sources),
        },
        splits=splits,
        runs=runs,
        summary=summarise(runs),
        seconds=time.perf_counter() - started,
    )
