"""``jury-rule``: the 20-line baseline on LLM-side information alone (no seed, no model).

First the items where the main judge is undecided (its two presentation orders disagreed, or its
answer did not parse), then those where the most jurors vote against it, the rest at random. It
is the bar a fitted router must clear: it reads no human label at all.
"""

from __future__ import annotations

import numpy as np

from routing.core.jury import jury_rule_order
from routing.core.simulation.honesty import HumanLabelOracle, PoolView, RoutingPlan


class JuryRuleStrategy:
    name = "jury-rule"

    def plan(self, *, pool: PoolView, oracle: HumanLabelOracle, rng_seed: int) -> RoutingPlan:
        rng = np.random.default_rng([rng_seed, 11])
        order = jury_rule_order(main=pool.llm, jury=pool.jury_votes, rng=rng)
        human = np.zeros(pool.n, dtype=bool)
        human[order[: pool.budget]] = True
        return RoutingPlan(
            human=human,
            seed=oracle.seed,
            ppm_source="jury rule: main-judge ties/unparseable first, then jury disagreement",
            details={"jurors": len(pool.jury_names)},
            # Every human item was chosen for looking wrong: none says how reliable the judges
            # are on the rest, so a jury label weighs them equally (a majority vote).
            calibration=np.empty(0, dtype=np.int64),
        )
