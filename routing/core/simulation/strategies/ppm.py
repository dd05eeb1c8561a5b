"""``ppm-greedy``, ``ppm-sampling``: route by a performance predictor (seed-fitted or loaded)."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from routing.core.simulation.config import SimulationConfig
from routing.core.simulation.honesty import HumanLabelOracle, PoolView, RoutingPlan
from routing.core.simulation.seed_ppm import counts_of, fit_seed_ppm, search_human_set
from routing.core.simulation.strategies.base import (
    MIN_SEED_FOR_MODEL,
    _random_fill,
    _seed_indices,
    seed_size,
)


def pool_identity(pool: PoolView) -> str:
    """A digest of what a seed PPM's fit depends on besides the seed: the pool's ids, LLM
    labels, embeddings and features (two pools share fits only when all of these match)."""
    digest = hashlib.sha256()
    digest.update("\0".join(pool.ids).encode("utf-8"))
    digest.update(pool.features.version.encode("utf-8"))
    digest.update("\0".join(pool.features.names).encode("utf-8"))
    for array in (pool.llm, pool.features.matrix, pool.emb_a, pool.emb_b):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


class PPMStrategy:
    """Route by a performance predictor: fitted on seed-set proxy runs, or loaded from an
    artifact fitted on another dataset (then no seed is bought)."""

    def __init__(
        self,
        *,
        name: str,
        search: str,
        config: SimulationConfig,
        predictor: Any = None,
        predictor_label: str = "",
        fit_cache: dict | None = None,
    ):
        self.name = name
        self.search = search
        self.config = config
        self.predictor = predictor
        self.predictor_label = predictor_label
        self.fit_cache = fit_cache if fit_cache is not None else {}

    def plan(self, *, pool: PoolView, oracle: HumanLabelOracle, rng_seed: int) -> RoutingPlan:
        config = self.config
        if self.predictor is not None:
            self.predictor.check_features(
                feature_names=pool.features.names, feature_version=pool.features.version
            )
            human, predicted = search_human_set(
                predictor=self.predictor,
                features=pool.features,
                budget=pool.budget,
                forced=np.empty(0, dtype=np.int64),
                search=self.search,
                candidates=config.sampling_candidates,
                rng_seed=rng_seed,
            )
            return RoutingPlan(
                human=human,
                seed=oracle.seed,
                ppm_source=self.predictor_label,
                predicted_score=predicted,
            )
        count = seed_size(n_pool=pool.n, budget=pool.budget, seed_share=config.seed_share)
        if count < MIN_SEED_FOR_MODEL:
            rng = np.random.default_rng([rng_seed, pool.budget, 2])
            human = _random_fill(human=np.zeros(pool.n, dtype=bool), budget=pool.budget, rng=rng)
            return RoutingPlan(
                human=human,
                seed=oracle.seed,
                ppm_source=f"no PPM: a seed of {count} < {MIN_SEED_FOR_MODEL} items, routed at random",
            )
        seed_idx = _seed_indices(n_pool=pool.n, count=count, rng_seed=rng_seed)
        seed_labels = oracle.declare_seed(seed_idx)
        key = (
            pool_identity(pool),
            rng_seed,
            tuple(seed_idx.tolist()),
            config.ppm_kind,
            config.proxy_runs,
            config.l2,
        )
        fitted = self.fit_cache.get(key)
        if fitted is None:
            fitted = fit_seed_ppm(
                pool=pool,
                seed_indices=seed_idx,
                seed_labels=seed_labels,
                runs=config.proxy_runs,
                kind=config.ppm_kind,
                l2=config.l2,
                rng_seed=rng_seed,
            )
            self.fit_cache[key] = fitted
        if not fitted.has_headroom:
            return self._without_headroom(
                pool=pool, oracle=oracle, seed_idx=seed_idx, seed_labels=seed_labels,
                fitted=fitted, rng_seed=rng_seed,
            )  # fmt: skip
        human, predicted = search_human_set(
            predictor=fitted.predictor,
            features=pool.features,
            budget=pool.budget,
            forced=seed_idx,
            search=self.search,
            candidates=config.sampling_candidates,
            rng_seed=rng_seed,
        )
        cv = fitted.predictor.cross_validation
        return RoutingPlan(
            human=human,
            seed=oracle.seed,
            ppm_source=(
                f"{config.ppm_kind} PPM fitted on {config.proxy_runs} proxy runs inside each seed "
                "set (its training part routed as a miniature pool, human shares 0-100%)"
            ),
            predicted_score=predicted,
            details={
                "ppm_cv_spearman": None if np.isnan(cv.spearman) else cv.spearman,
                "ppm_cv_rmse": cv.rmse,
                "seed_train_items": fitted.train_items,
                "seed_eval_items": fitted.eval_items,
                "seed_splits": fitted.splits,
                "proxy_score_range": list(fitted.score_range),
                "proxy_headroom": fitted.headroom,
                "proxy_headroom_se": fitted.headroom_se,
                **fitted.describe_query(
                    counts=counts_of(matrix=pool.features.matrix, human=human, n_pool=pool.n),
                    share=pool.budget / pool.n,
                ),
            },
        )

    def _without_headroom(
        self, *, pool, oracle, seed_idx, seed_labels, fitted, rng_seed
    ) -> RoutingPlan:
        """The proxy did not respond to label quality inside the seed, so a PPM fitted on it
        would learn noise: keep the (paid) seed and route the rest of the budget by the error
        model fitted on the seed's labels instead, and say so."""
        from routing.core.error_model import choose_next_batch, score_llm_errors
        from routing.core.simulation.strategies.error_model import llm_side_view

        scores = score_llm_errors(
            view=llm_side_view(pool), labelled=seed_idx, human=seed_labels, rng_seed=rng_seed
        )
        human = np.zeros(pool.n, dtype=bool)
        human[seed_idx] = True
        rest = choose_next_batch(
            scores=scores,
            exclude=human,
            count=pool.budget - len(seed_idx),
            rng=np.random.default_rng([rng_seed, 19]),
        )
        human[rest] = True
        return RoutingPlan(
            human=human,
            seed=oracle.seed,
            ppm_source=(
                "no PPM: the proxy showed no headroom inside the seed (score vs human share "
                "slope not > 2 se); routed by the error model fitted on the seed"
            ),
            details={
                "proxy_headroom": fitted.headroom,
                "proxy_headroom_se": fitted.headroom_se,
                "ppm_fitted": False,
            },
        )
