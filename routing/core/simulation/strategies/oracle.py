"""``oracle``: the upper bound. It reads every human label of the pool (the simulation hands it
the labels itself; no campaign could), so it is printed beside each table, never a strategy to
run: it sends to humans first the items where the LLM-side label it would otherwise keep (the
main judge's, or the jury label weighted on every human label) disagrees with a decisive human
label, then the rest at random."""

from __future__ import annotations

import numpy as np

from routing.core.simulation.composition import decisive
from routing.core.simulation.honesty import HumanLabelOracle, PoolView, RoutingPlan


class OracleStrategy:
    name = "oracle"
    reads_all_human_labels = True

    def plan_with_labels(
        self,
        *,
        pool: PoolView,
        human: np.ndarray,
        rng_seed: int,
        llm_labels: np.ndarray | None = None,
    ) -> RoutingPlan:
        """``llm_labels``: the LLM-side label each item would keep (default: the main judge's)."""
        rng = np.random.default_rng([rng_seed, 17])
        llm = pool.llm if llm_labels is None else llm_labels
        gain = decisive(human) & (llm != human)
        order = np.lexsort((rng.random(pool.n), ~gain))
        routed = np.zeros(pool.n, dtype=bool)
        routed[order[: pool.budget]] = True
        return RoutingPlan(
            human=routed,
            seed=np.flatnonzero(routed),
            ppm_source="oracle: reads every human label of the pool (upper bound)",
            details={"fixable": int(gain.sum())},
        )

    def plan(self, *, pool: PoolView, oracle: HumanLabelOracle, rng_seed: int) -> RoutingPlan:
        raise RuntimeError("the oracle reads every human label; run_simulation runs it itself")
