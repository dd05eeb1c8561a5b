"""The rules of honesty and the objects that enforce them.

A strategy receives a ``PoolView`` (no human label) and a ``HumanLabelOracle`` that reveals human
labels only for the one seed set it declares; it answers with a ``RoutingPlan`` that
``check_plan`` verifies. The test split travels in a ``_HeldOutTest`` that only the scoring step
receives. ``check_predictor_provenance`` and ``check_annotator_provenance`` refuse artifacts
fitted on the dataset's own pairs. ``HONESTY_RULES`` is the text printed with every table.

The checks guard against mistakes (a strategy that reads the wrong labels, an artifact used on
its own training data), not against hostile code in the same process.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from routing.core.features import FeatureTable
from routing.core.fingerprints import fingerprint_of

HONESTY_RULES = (
    "A strategy sees every pool item's features, embeddings and LLM label, and no human label "
    "except through its HumanLabelOracle.",
    "The oracle reveals human labels only for the items the strategy buys (a seed set declared "
    "once, or items bought round by round); every bought item counts against the strategy's "
    "budget and stays in its human set. Any other request raises HonestyViolation.",
    "The oracle strategy reads every human label of the pool; it is the upper bound printed "
    "beside each table, never a strategy a campaign can run.",
    "A PPM is fitted on proxy runs inside the seed set (its training part routed as a miniature "
    "pool at human shares from 0 to 100%, human labels where routed and LLM labels elsewhere; "
    "scored on held-out seed items) or loaded from an artifact fitted on other pairs "
    "(--predictor; refused when it lists any of this dataset's pairs).",
    "Test-set items and labels are held apart and reach only the final proxy scoring; the split "
    "is by prompt, so one prompt never sits on both sides.",
    "A predictor artifact or a local-judge LLM annotator fitted on any of the dataset's pairs "
    "(listed by content fingerprint in the artifact) is refused; an artifact that lists none is "
    "refused unless explicitly allowed, and the report says so.",
    "The simulation, not the strategy, composes the labels: human where routed, LLM elsewhere "
    "(the main judge's label, or a jury label whose judges are weighted only on the plan's "
    "random calibration items); a plan must route exactly its budget.",
    "These checks guard against mistakes in a strategy, not against hostile code running in the "
    "same process.",
)


class HonestyViolation(RuntimeError):
    """A strategy asked for a label it may not see, or returned a plan that breaks the rules."""


class HumanLabelOracle:
    """Reveals pool human labels for one declared seed set, at most ``budget`` items.

    The labels, the declared seed and every check live in closures, not attributes: calling the
    private ``_reveal`` (or ``_declare``) directly enforces the same rules as ``labels`` (or
    ``declare_seed``). This guards against mistakes in a strategy, not against hostile code in
    the same process (which can always read a closure's cells or the caller's frames).
    """

    __slots__ = ("_reveal", "_declare", "_buy", "_declared", "budget", "size", "requests")

    def __init__(self, *, labels: np.ndarray, budget: int):
        frozen = np.array(labels, dtype=np.int8, copy=True)
        frozen.setflags(write=False)
        size, budget = len(frozen), int(budget)
        if not 0 <= budget <= size:
            raise ValueError(f"budget must be in 0..{size}, got {budget}")
        state: dict[str, np.ndarray] = {}  # "seed": the sorted declared seed, once declared

        def declared() -> np.ndarray:
            return state["seed"].copy() if "seed" in state else np.empty(0, dtype=np.int64)

        def reveal(indices: Sequence[int] | np.ndarray) -> np.ndarray:
            indices = np.asarray(indices, dtype=np.int64).reshape(-1)
            outside = np.setdiff1d(indices, declared())
            if len(outside):
                raise HonestyViolation(
                    f"human labels requested for {len(outside)} pool item(s) outside the "
                    f"declared seed set (e.g. position {int(outside[0])})"
                )
            return frozen[indices].copy()

        def declare(indices: Sequence[int] | np.ndarray) -> np.ndarray:
            indices = np.asarray(indices, dtype=np.int64).reshape(-1)
            unique = np.unique(indices)
            if "seed" in state:
                if not np.array_equal(unique, state["seed"]):
                    raise HonestyViolation("a seed set was already declared; it cannot be changed")
                return reveal(indices)
            settle(unique, what=f"seed of {len(unique)} items")
            state["declared_once"] = unique
            return reveal(indices)

        def settle(unique: np.ndarray, *, what: str) -> None:
            """Check a bought set against the budget and the pool, then keep it."""
            if len(unique) > budget:
                raise HonestyViolation(f"{what} exceeds the human budget of {budget}")
            if len(unique) and (unique[0] < 0 or unique[-1] >= size):
                raise HonestyViolation(f"seed indices must be pool positions 0..{size - 1}")
            unique.setflags(write=False)
            state["seed"] = unique

        def buy(indices: Sequence[int] | np.ndarray) -> np.ndarray:
            indices = np.asarray(indices, dtype=np.int64).reshape(-1)
            if "declared_once" in state:
                raise HonestyViolation("a seed set was declared; it cannot be extended")
            unique = np.unique(np.concatenate([declared(), indices]))
            settle(unique, what=f"buying {len(unique)} items in all")
            return reveal(indices)

        self._reveal = reveal
        self._declare = declare
        self._buy = buy
        self._declared = declared
        self.size = size
        self.budget = budget
        self.requests = 0

    @property
    def seed(self) -> np.ndarray:
        """Every bought position, sorted (the declared seed, or all items bought so far)."""
        return self._declared()

    def declare_seed(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """Buy the human labels of ``indices`` (pool positions); returns their label codes in
        the order given. Only one seed set per oracle (declaring the same set again is free);
        larger than the budget, out of range or a second, different set: ``HonestyViolation``."""
        self.requests += 1
        return self._declare(indices)

    def buy(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """Buy the human labels of ``indices`` in addition to those bought before (a strategy
        that routes in rounds); returns their label codes in the order given. Buying an item
        again is free; more than the budget in all, out of range, or after ``declare_seed``:
        ``HonestyViolation``."""
        self.requests += 1
        return self._buy(indices)

    def labels(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """Human label codes of seed items; any index outside the seed: ``HonestyViolation``."""
        self.requests += 1
        return self._reveal(indices)


@dataclass(frozen=True)
class PoolView:
    """What a strategy sees of the routing pool: no human label, nothing of the test set.

    ``emb_a``/``emb_b`` float32 (n, d) embed each response rendered in its conversation; ``llm``
    int8 label codes (n,) of the main LLM judge (the label an LLM-routed item keeps);
    ``jury`` int8 (n, j) the other judges' verdicts (``jury_names``; no columns without a jury);
    ``llm_confidence`` the main judge's confidence in [0, 1] when it gives one; ``features`` rows
    follow ``ids``.
    """

    ids: tuple[str, ...]
    features: FeatureTable
    llm: np.ndarray
    emb_a: np.ndarray
    emb_b: np.ndarray
    budget: int
    llm_name: str = "llm"
    jury_names: tuple[str, ...] = ()
    jury: np.ndarray | None = None
    llm_confidence: np.ndarray | None = None
    # The label an item keeps when it is not routed to a human (SimulationConfig.llm_label):
    # "main" (the main judge's) or "jury" (the reliability-weighted label of every judge).
    llm_label: str = "main"

    @property
    def jury_votes(self) -> np.ndarray:
        """The jury's verdicts, int8 (n, j) (shape (n, 0) without a jury)."""
        if self.jury is None:
            return np.zeros((self.n, 0), dtype=np.int8)
        return self.jury

    @property
    def n(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class RoutingPlan:
    """A strategy's answer: ``human`` bool (n,) routes exactly the budget; ``seed`` ⊆ human."""

    human: np.ndarray
    seed: np.ndarray
    ppm_source: str = ""
    predicted_score: float | None = None
    # Human items drawn uniformly at random from the pool, so representative of the items left
    # to the LLM side: a jury label's judge reliabilities are fitted on these only (items chosen
    # for looking wrong would make every judge look worse than it is on the rest). ``None``:
    # every human item is such a draw (a random plan).
    calibration: np.ndarray | None = None
    details: dict[str, Any] = field(default_factory=dict)


class Strategy(Protocol):
    name: str

    def plan(self, *, pool: PoolView, oracle: HumanLabelOracle, rng_seed: int) -> RoutingPlan: ...


@dataclass(frozen=True)
class _HeldOutTest:
    """The test split, decisive human labels only, oriented chosen/rejected. Never given to a
    strategy."""

    ids: tuple[str, ...]
    emb_chosen: np.ndarray
    emb_rejected: np.ndarray
    dropped: int


def check_plan(*, plan: RoutingPlan, oracle: HumanLabelOracle, n_pool: int) -> None:
    """Raise ``HonestyViolation`` unless the plan routes exactly the budget and keeps its seed."""
    human = np.asarray(plan.human)
    if human.dtype != bool or human.shape != (n_pool,):
        raise HonestyViolation(
            f"plan.human must be bool of shape ({n_pool},), got {human.dtype} {human.shape}"
        )
    if int(human.sum()) != oracle.budget:
        raise HonestyViolation(f"plan routes {int(human.sum())} items, budget is {oracle.budget}")
    if not np.array_equal(np.unique(np.asarray(plan.seed, dtype=np.int64)), oracle.seed):
        raise HonestyViolation("plan.seed differs from the seed declared to the oracle")
    if not human[oracle.seed].all():
        raise HonestyViolation("every seed item must stay in the human set")
    if (
        plan.calibration is not None
        and not human[np.asarray(plan.calibration, dtype=np.int64)].all()
    ):
        raise HonestyViolation("every calibration item must be in the human set")


def _overlap(*, fingerprints: Collection[str], instances: Sequence[Any]) -> int:
    seen = set(fingerprints)
    return sum(1 for instance in instances if fingerprint_of(instance) in seen)


def check_predictor_provenance(
    *, provenance: Mapping[str, Any], instances: Sequence[Any], allow_unverified: bool
) -> str:
    """Refuse a PPM artifact fitted on any of ``instances`` (it has seen their human labels).

    Artifacts list the ``routing.core.fingerprints`` of the pairs they were fitted on under
    ``provenance["instance_fingerprints"]``. Any overlap raises ``HonestyViolation``; an artifact
    that lists none raises too unless ``allow_unverified``. Returns the one-line note the report
    prints (verified, or UNVERIFIED).
    """
    listed = provenance.get("instance_fingerprints") or ()
    if not listed:
        if not allow_unverified:
            raise HonestyViolation(
                "the predictor artifact lists no instance fingerprints, so nothing shows it was "
                "not fitted on these pairs; refit it (python -m routing.core.fit_default_predictor)"
                " or allow it explicitly (--allow-unverified-predictor)"
            )
        return (
            "UNVERIFIED: the predictor artifact lists no instance fingerprints; used anyway "
            "(--allow-unverified-predictor)"
        )
    overlap = _overlap(fingerprints=listed, instances=instances)
    if overlap:
        raise HonestyViolation(
            f"the predictor was fitted on {overlap} of these instances: using it here would leak "
            "their human labels; fit the PPM on a seed set instead (drop --predictor)"
        )
    return (
        f"verified: the predictor was fitted on none of these {len(instances)} pairs "
        f"({len(listed)} fingerprints listed)"
    )


def check_annotator_provenance(
    *, fitted_on: Collection[str], instances: Sequence[Any], annotator: str
) -> None:
    """Refuse an LLM annotator (the local judge) fitted on any of ``instances``: its labels
    there are in-sample fits of their human labels. ``fitted_on`` lists the fingerprints of its
    training pairs; any overlap raises ``HonestyViolation`` naming how many and how to drop them.
    """
    overlap = _overlap(fingerprints=fitted_on, instances=instances)
    if overlap:
        raise HonestyViolation(
            f"the LLM annotator {annotator!r} was fitted on {overlap} of these pairs (its labels "
            "there are in-sample fits of their human labels); drop them: convert the data with "
            "python -m routing.core convert-hh-rlhf without --keep-judge-training"
        )
