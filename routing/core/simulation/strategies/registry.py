"""The strategy plug-in family, keyed by name (``STRATEGIES`` gives the order)."""

from __future__ import annotations

from typing import Any, Protocol

from routing.core.simulation.config import STRATEGIES, SimulationConfig
from routing.core.simulation.honesty import Strategy
from routing.core.simulation.strategies.disagreement import DisagreementStrategy
from routing.core.simulation.strategies.error_model import ErrorModelStrategy
from routing.core.simulation.strategies.jury_rule import JuryRuleStrategy
from routing.core.simulation.strategies.oracle import OracleStrategy
from routing.core.simulation.strategies.ppm import PPMStrategy
from routing.core.simulation.strategies.uniform import RandomStrategy


class StrategyFactory(Protocol):
    def __call__(
        self, *, config: SimulationConfig, predictor: Any, predictor_label: str, fit_cache: dict
    ) -> Strategy: ...


def _uniform(name: str) -> StrategyFactory:
    def make(
        *, config: SimulationConfig, predictor: Any, predictor_label: str, fit_cache: dict
    ) -> Strategy:
        return RandomStrategy(name)

    return make


def _ppm(name: str, *, search: str) -> StrategyFactory:
    def make(
        *, config: SimulationConfig, predictor: Any, predictor_label: str, fit_cache: dict
    ) -> Strategy:
        return PPMStrategy(
            name=name,
            search=search,
            config=config,
            predictor=predictor,
            predictor_label=predictor_label,
            fit_cache=fit_cache,
        )

    return make


def _disagreement(
    *, config: SimulationConfig, predictor: Any, predictor_label: str, fit_cache: dict
) -> Strategy:
    return DisagreementStrategy(config=config)


def _plain(cls) -> StrategyFactory:
    def make(
        *, config: SimulationConfig, predictor: Any, predictor_label: str, fit_cache: dict
    ) -> Strategy:
        return cls()

    return make


STRATEGY_FACTORIES: dict[str, StrategyFactory] = {
    "random": _uniform("random"),
    "oracle": _plain(OracleStrategy),
    "jury-rule": _plain(JuryRuleStrategy),
    "error-model": _plain(ErrorModelStrategy),
    "ppm-greedy": _ppm("ppm-greedy", search="greedy"),
    "ppm-sampling": _ppm("ppm-sampling", search="sampling"),
    "disagreement-topk": _disagreement,
    "all-human": _uniform("all-human"),
    "all-llm": _uniform("all-llm"),
}
if tuple(STRATEGY_FACTORIES) != STRATEGIES:  # the CLI and the table order come from STRATEGIES
    raise RuntimeError("STRATEGY_FACTORIES and STRATEGIES name different strategies")


def make_strategies(
    *, config: SimulationConfig, predictor: Any = None, predictor_label: str = ""
) -> dict[str, Strategy]:
    """The strategies named in ``config.strategies`` (``ValueError`` on an unknown name).

    The ppm-* strategies share one fit cache, so a seed-set PPM is fitted once per seed and
    serves both searches.
    """
    unknown = [name for name in config.strategies if name not in STRATEGIES]
    if unknown:
        raise ValueError(f"unknown strategy {unknown[0]!r}; known: {', '.join(STRATEGIES)}")
    cache: dict = {}
    return {
        name: STRATEGY_FACTORIES[name](
            config=config, predictor=predictor, predictor_label=predictor_label, fit_cache=cache
        )
        for name in config.strategies
    }
