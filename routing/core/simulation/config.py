"""Simulation configuration, the strategy names and the callable types the simulation takes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

SIMULATION_VERSION = "simulation-v2"
STRATEGIES = (
    "random",
    "oracle",
    "jury-rule",
    "error-model",
    "ppm-greedy",
    "ppm-sampling",
    "disagreement-topk",
    "all-human",
    "all-llm",
)
DEFAULT_STRATEGY = "error-model"
LLM_LABELS = ("main", "jury", "fallback", "auto")
# Reads every human label of the pool: the upper bound beside every table, run by the
# simulation itself (never through a HumanLabelOracle) and always included.
ORACLE = "oracle"
Embed = Callable[[Sequence[str]], np.ndarray]
Progress = Callable[[str], None]


class SimulationInputError(ValueError):
    """The inputs cannot give a simulation result (no decisive labels, one prompt for every
    instance, an empty test side); the message says which and is one line."""


@dataclass(frozen=True)
class SimulationConfig:
    budgets: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75)
    seeds: int = 3
    strategies: tuple[str, ...] = STRATEGIES
    test_share: float = 0.3
    seed_share: float = 0.2
    proxy_runs: int = 48
    ppm_kind: str = "quadratic"
    predictor_path: str | None = None
    l2: float = 1.0
    sampling_candidates: int = 500
    context_messages: int | None = 1
    # The label an LLM-routed item keeps in the composed dataset:
    # - "main": the main judge's own label (the paper's setting; the default);
    # - "jury": the reliability-weighted label of every judge, main judge included; the judges
    #   are weighted on the plan's calibration items (a random sample of its human items; the oracle: every human
    #   label), equally when none is measured;
    # - "fallback": the main judge's label where it is decisive, the jury label where not;
    # - "auto": "fallback" or "jury", whichever matched more of the calibration items' human
    #   labels (the jury's measured leave-one-out; ``routing.core.jury.choose_kept_label``):
    #   what a routed campaign ships (routing.campaign_routing).
    # Without a jury every mode is the main judge's label.
    llm_label: str = "main"

    def __post_init__(self) -> None:
        if self.llm_label not in LLM_LABELS:
            raise ValueError(f"llm_label must be one of {', '.join(LLM_LABELS)}")
