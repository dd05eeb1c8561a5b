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
