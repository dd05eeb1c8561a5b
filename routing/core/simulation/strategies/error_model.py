"""``error-model`` (the default): route to humans where the LLM-side label is likely wrong.

Rounds, each paid from the budget as it goes (``HumanLabelOracle.buy``):

1. the items whose main-judge verdict is unusable (tie between its orders, or unparseable):
   P(LLM wrong) = 1 there, so nothing is worth more;
2. a small random calibration sample when fewer than ``MIN_LABELLED`` items carry a human
   label yet (the reliability estimates need some, and a random sample is unbiased);
3. the rest in batches of ``BATCH`` items: refit the error model (``routing.core.error_model``)
   on every human label bought so far and buy the highest-value items (P(LLM wrong) ×
   P(human decisive)), so each batch is chosen knowing the labels of the ones before.

The same rounds are what a campaign does when it re-routes after new human labels.

Where LLM-routed items keep the jury label (``llm_label`` ``jury``, or ``auto``), the random
calibration sample comes first and alone weighs the judges; under ``auto`` it also chooses the
kept label (``routing.core.jury.choose_kept_label``), and the batches then score that label's
errors.
"""

from __future__ import annotations

import numpy as np

from routing.core.datasets import LABEL_A, LABEL_B
from routing.core.error_model import (
    LLMSideView,
    choose_next_batch,
    score_jury_label_errors,
    score_llm_errors,
)
from routing.core.jury import KEPT_JURY, choose_kept_label
from routing.core.simulation.honesty import HumanLabelOracle, PoolView, RoutingPlan

MIN_LABELLED = 20
BATCH = 10  # human labels between refits, as a campaign re-routes after each few labels


def llm_side_view(pool: PoolView) -> LLMSideView:
    matrix = np.asarray(pool.features.matrix, dtype=np.float64)
    return LLMSideView(
        main_name=pool.llm_name,
        main=np.asarray(pool.llm, dtype=np.int8),
        jury_names=tuple(pool.jury_names),
        jury=pool.jury_votes,
        features=matrix,
        feature_names=tuple(pool.features.names),
        main_confidence=pool.llm_confidence,
    )


class ErrorModelStrategy:
    name = "error-model"

    def plan(self, *, pool: PoolView, oracle: HumanLabelOracle, rng_seed: int) -> RoutingPlan:
        if pool.llm_label in ("jury", "auto") and pool.jury_names:
            return self._plan_for_jury_label(pool=pool, oracle=oracle, rng_seed=rng_seed)
        rng = np.random.default_rng([rng_seed, 13])
        view = llm_side_view(pool)
        budget = pool.budget
        bought = np.zeros(pool.n, dtype=bool)
        labels = np.zeros(pool.n, dtype=np.int8)
        rounds: list[dict] = []

        def buy(positions: np.ndarray, why: str) -> None:
            positions = np.asarray(positions, dtype=np.int64)
            if not len(positions):
                return
            labels[positions] = oracle.buy(positions)
            bought[positions] = True
            rounds.append({"why": why, "items": int(len(positions))})

        undecided = np.flatnonzero((pool.llm != LABEL_A) & (pool.llm != LABEL_B))
        buy(rng.permutation(undecided)[:budget], "main judge undecided")
        calibration = min(MIN_LABELLED - int(bought.sum()), (budget - int(bought.sum())) // 2)
        if calibration > 0:
            buy(rng.choice(np.flatnonzero(~bought), calibration, replace=False), "calibration")
        last = None
        while (remaining := budget - int(bought.sum())) > 0:
            positions = np.flatnonzero(bought)
            last = score_llm_errors(
                view=view, labelled=positions, human=labels[positions], rng_seed=rng_seed
            )
            count = min(BATCH, remaining)
            buy(choose_next_batch(scores=last, exclude=bought, count=count, rng=rng), "error model")
        details = {"rounds": rounds}
        if last is not None:
            details.update({k: v for k, v in last.details.items() if k != "version"})
        return RoutingPlan(
            human=bought.copy(),
            seed=oracle.seed,
            ppm_source="error model: reliability-weighted jury posterior fitted on bought labels",
            details=details,
        )

    def _plan_for_jury_label(
        self, *, pool: PoolView, oracle: HumanLabelOracle, rng_seed: int
    ) -> RoutingPlan:
        """Where LLM-routed items keep the jury label (or, ``auto``, whichever label the
        calibration sample says): a random calibration sample first (the judges' reliabilities
        and the choice are fitted on it alone, so they hold for the items left to the LLM side),
        then batches of the items whose kept label is most likely wrong."""
        rng = np.random.default_rng([rng_seed, 13])
        view = llm_side_view(pool)
        budget = pool.budget
        bought = np.zeros(pool.n, dtype=bool)
        labels = np.zeros(pool.n, dtype=np.int8)
        rounds: list[dict] = []
        size = min(MIN_LABELLED, budget // 2)
        calibration = np.sort(rng.choice(pool.n, size, replace=False)).astype(np.int64)
        if size:
            labels[calibration] = oracle.buy(calibration)
            bought[calibration] = True
            rounds.append({"why": "calibration", "items": int(size)})
        keeps_jury = True
        if pool.llm_label == "auto":
            choice = choose_kept_label(
                votes=view.all_votes,
                names=view.judge_names,
                labelled=calibration,
                human=labels[calibration],
            )
            keeps_jury = choice.source == KEPT_JURY
            rounds.append({"why": "kept label", "items": 0, **choice.as_dict()})
        last = None
        while (remaining := budget - int(bought.sum())) > 0:
            positions = np.flatnonzero(bought)
            if keeps_jury:
                last = score_jury_label_errors(
                    view=view,
                    calibration=calibration,
                    labelled=positions,
                    human=labels[positions],
                    rng_seed=rng_seed,
                )
            else:  # the main judge's label is kept: score its errors (undecided ones first)
                last = score_llm_errors(
                    view=view, labelled=positions, human=labels[positions], rng_seed=rng_seed
                )
            chosen = choose_next_batch(
                scores=last, exclude=bought, count=min(BATCH, remaining), rng=rng
            )
            labels[chosen] = oracle.buy(chosen)
            bought[chosen] = True
            rounds.append({"why": "error model", "items": int(len(chosen))})
        details = {"rounds": rounds}
        if last is not None:
            details.update({k: v for k, v in last.details.items() if k != "version"})
        return RoutingPlan(
            human=bought.copy(),
            seed=oracle.seed,
            ppm_source=(
                "error model: P(jury label wrong), judges weighted on a random sample"
                if keeps_jury
                else "error model: P(main judge wrong), kept label chosen on a random sample"
            ),
            details=details,
            calibration=calibration,
        )
