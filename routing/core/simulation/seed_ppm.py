"""A PPM fitted on proxy runs inside a strategy's seed set, and the router search that keeps
the seed in the human set (``_SeededPredictor`` re-expresses the PPM over the non-seed items).

The seed's training part is routed as a miniature pool (human shares uniform in [0, 1] of it), so
the PPM is fitted on the same range of count vectors the router later queries on the real pool;
``SeedPPM.describe_query`` says when a query falls outside that range anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from routing.core.features import FeatureTable
from routing.core.simulation.composition import orient
from routing.core.simulation.honesty import PoolView


def feature_filled_subset(*, matrix: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``size`` rows chosen as the paper fills a human set: shuffle the features, then
    add the (shuffled) rows carrying each feature in turn until ``size`` rows are taken."""
    m = matrix.shape[0]
    if not 0 <= size <= m:
        raise ValueError(f"size must be in 0..{m}, got {size}")
    taken = np.zeros(m, dtype=bool)
    chosen: list[int] = []
    for feature in rng.permutation(matrix.shape[1]):
        if len(chosen) >= size:
            break
        carriers = np.flatnonzero(matrix[:, feature] & ~taken)
        rng.shuffle(carriers)
        carriers = carriers[: size - len(chosen)]
        taken[carriers] = True
        chosen.extend(carriers.tolist())
    if len(chosen) < size:
        rest = np.flatnonzero(~taken)
        chosen.extend(rng.choice(rest, size - len(chosen), replace=False).tolist())
    return np.array(sorted(chosen), dtype=np.int64)


def counts_of(*, matrix: np.ndarray, human: np.ndarray, n_pool: int) -> np.ndarray:
    """Per-feature human share of the pool: ``matrix[human].sum(0) / n_pool`` (float64 (f,))."""
    return matrix[np.asarray(human)].sum(axis=0) / float(n_pool)


SEED_EVAL_SHARE = 0.4  # of the seed held out as evaluation pairs in each split
SEED_SPLITS = 3  # random train/eval splits of the seed; every run is scored on each
MIN_SEED_EVAL = 8


@dataclass(frozen=True)
class SeedPPM:
    """A PPM fitted inside one seed set, with the region of count space its runs covered.

    ``share_range`` is the (min, max) human share of the miniature pool over the runs;
    ``count_min``/``count_max`` float64 (f,) bound each feature's count (share of the miniature
    pool) over the runs. ``eval_items`` is per split (``splits`` of them).
    """

    predictor: Any  # routing.core.predictors.FittedPredictor
    runs: int
    seed_items: int
    train_items: int
    eval_items: int
    splits: int
    share_range: tuple[float, float]
    count_min: np.ndarray
    count_max: np.ndarray
    score_range: tuple[float, float]
    # Proxy headroom inside the seed: the fitted rise in proxy score from 0% to 100% human
    # labels (slope of score on human share over the runs) and its standard error. A proxy
    # whose headroom is not clearly positive does not respond to label quality.
    headroom: float = float("nan")
    headroom_se: float = float("nan")

    @property
    def has_headroom(self) -> bool:
        return bool(self.headroom > 0 and self.headroom > 2 * self.headroom_se)

    def describe_query(self, *, counts: np.ndarray, share: float) -> dict[str, Any]:
        """Where a router query (``counts`` float (f,), shares of the routing pool; ``share``
        the human share of the pool) lies against the runs the PPM was fitted on: a query
        outside them is an extrapolation and its predicted score deserves little trust."""
        counts = np.asarray(counts, dtype=np.float64)
        tolerance = 1e-9
        outside = (counts < self.count_min - tolerance) | (counts > self.count_max + tolerance)
        low, high = self.share_range
        return {
            "ppm_share_range": [low, high],
            "query_share": float(share),
            "query_share_outside_fit": bool(share < low - tolerance or share > high + tolerance),
            "query_features_outside_fit": int(outside.sum()),
        }


def _seed_splits(
    *, size: int, splits: int, eval_share: float, rng: np.random.Generator
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``splits`` random (train, eval) partitions of ``range(size)``, eval ``eval_share`` of it
    (at least ``MIN_SEED_EVAL`` items, at least one train item)."""
    n_eval = min(max(MIN_SEED_EVAL, int(round(eval_share * size))), size - 1)
    if n_eval < 1:
        raise ValueError(f"a seed of {size} item(s) cannot be split into training and evaluation")
    out = []
    for _ in range(splits):
        order = rng.permutation(size)
        out.append((np.sort(order[n_eval:]), np.sort(order[:n_eval])))
    return out


def fit_seed_ppm(
    *,
    pool: PoolView,
    seed_indices: np.ndarray,
    seed_labels: np.ndarray,
    runs: int,
    kind: str,
    l2: float,
    rng_seed: int,
    splits: int = SEED_SPLITS,
    eval_share: float = SEED_EVAL_SHARE,
) -> SeedPPM:
    """Fit a PPM on ``runs`` proxy runs inside the seed set, the seed's training part playing
    a miniature routing pool.

    The seed is split ``splits`` times at random into training items (the miniature pool, size
    ``m``) and ``eval_share`` held-out evaluation items (human-labelled). Each run draws one human
    share ``u`` uniformly in [0, 1]; in every split it fills a human set of ``round(u·m)``
    miniature-pool items feature by feature, composes labels on the miniature pool only (human
    where chosen, LLM elsewhere; ties and missing labels dropped), trains a proxy and scores it
    on that split's evaluation items. The run's training row is the mean over the splits of the
    count vector (per-feature human share *of the miniature pool*, so shares span [0, 1] as the
    router's share-of-pool counts do) and of the accuracy (repeating the split averages out the
    luck of a few dozen evaluation items).

    Only the seed's human labels are read (``seed_labels``, in ``seed_indices`` order); LLM labels
    and features come from the pool view. The rest of the pool takes no part: adding its LLM
    labels would shrink every run's human share to at most ``m / n``. Deterministic for a given
    ``rng_seed``.
    """
    from models_rm.proxy import run_proxy
    from routing.core.predictors import fit_predictor

    seed_indices = np.asarray(seed_indices, dtype=np.int64)
    seed_labels = np.asarray(seed_labels, dtype=np.int8)
    rng = np.random.default_rng([rng_seed, 11])
    parts = []
    for train_local, eval_local in _seed_splits(
        size=len(seed_indices), splits=splits, eval_share=eval_share, rng=rng
    ):
        eval_idx, train_idx = seed_indices[eval_local], seed_indices[train_local]
        eval_chosen, eval_rejected = orient(
            labels=seed_labels[eval_local], emb_a=pool.emb_a[eval_idx], emb_b=pool.emb_b[eval_idx]
        )
        if len(eval_chosen):
            parts.append((train_local, train_idx, eval_chosen, eval_rejected))
    if not parts:
        raise ValueError("no decisive human label among the held-out seed items")
    matrix = pool.features.matrix
    counts = np.zeros((runs, matrix.shape[1]))
    scores = np.zeros(runs)
    shares = np.zeros(runs)
    for run in range(runs):
        share = float(rng.random())
        for train_local, train_idx, eval_chosen, eval_rejected in parts:
            m = len(train_idx)
            chosen = feature_filled_subset(
                matrix=matrix[train_idx], size=int(round(share * m)), rng=rng
            )
            labels = pool.llm[train_idx].copy()
            labels[chosen] = seed_labels[train_local[chosen]]
            train_chosen, train_rejected = orient(
                labels=labels, emb_a=pool.emb_a[train_idx], emb_b=pool.emb_b[train_idx]
            )
            accuracy = 0.5  # no decisive training pair: a proxy that knows nothing
            if len(train_chosen):
                accuracy = run_proxy(
                    train_chosen=train_chosen,
                    train_rejected=train_rejected,
                    eval_chosen=eval_chosen,
                    eval_rejected=eval_rejected,
                    l2=l2,
                ).accuracy
            counts[run] += counts_of(matrix=matrix[train_idx], human=chosen, n_pool=m)
            scores[run] += accuracy
            shares[run] += len(chosen) / m
    counts /= len(parts)
    scores /= len(parts)
    shares /= len(parts)
    train_items, eval_items = len(parts[0][1]), len(seed_indices) - len(parts[0][1])
    predictor = fit_predictor(
        kind=kind,
        counts=counts,
        scores=scores,
        feature_names=pool.features.names,
        feature_version=pool.features.version,
        folds=min(5, runs),
        seed=rng_seed,
        provenance={
            "source": "seed-set proxy runs (the seed's training part as a miniature pool)",
            "seed_items": len(seed_indices),
            "train_items": train_items,
            "eval_items": eval_items,
            "splits": len(parts),
            "runs": runs,
            "share_range": [float(shares.min()), float(shares.max())],
        },
    )
    return SeedPPM(
        predictor=predictor,
        runs=runs,
        seed_items=len(seed_indices),
        train_items=train_items,
        eval_items=eval_items,
        splits=len(parts),
        share_range=(float(shares.min()), float(shares.max())),
        count_min=counts.min(axis=0),
        count_max=counts.max(axis=0),
        score_range=(float(scores.min()), float(scores.max())),
        **dict(zip(("headroom", "headroom_se"), _slope_with_se(shares, scores), strict=True)),
    )


def _slope_with_se(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares slope of ``y`` on ``x`` and its standard error (NaN when undefined)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    spread = ((x - x.mean()) ** 2).sum()
    if len(x) < 3 or spread <= 0:
        return float("nan"), float("nan")
    slope = float(((x - x.mean()) * (y - y.mean())).sum() / spread)
    residuals = y - (y.mean() + slope * (x - x.mean()))
    se = float(np.sqrt((residuals**2).sum() / (len(x) - 2) / spread))
    return slope, se


class _SeededPredictor:
    """A predictor seen from the non-seed items: ``g(c) = f(s + a·c)``.

    The router computes counts over the rows it is given (the non-seed items, ``m`` of them) as
    shares of ``m``; the PPM wants shares of the whole pool ``n`` with the seed included. With
    ``s`` the seed's counts and ``a = m / n`` the substitution is exact, and for an explicit
    ``b + w·c + cᵀQc`` it is again explicit: ``f(s) + a(w + 2Qs)·c + a² cᵀQc``.
    """

    def __init__(self, *, base: Any, seed_counts: np.ndarray, scale: float):
        self.base = base
        self.seed_counts = np.asarray(seed_counts, dtype=np.float64)
        self.scale = float(scale)
        self.kind = base.kind
        self.feature_names = base.feature_names
        self.feature_version = base.feature_version
        self.n_features = base.n_features
        self.fingerprint = base.fingerprint

    def check_features(self, *, feature_names: Sequence[str], feature_version: str) -> None:
        self.base.check_features(feature_names=feature_names, feature_version=feature_version)

    def predict_unchecked(self, counts: np.ndarray) -> np.ndarray:
        counts = np.atleast_2d(np.asarray(counts, dtype=np.float64))
        return self.base.predict_unchecked(self.seed_counts + self.scale * counts)

    def quadratic_form(self) -> Any:
        from routing.core.predictors import QuadraticForm

        form = self.base.quadratic_form()
        if form is None:
            return None
        s, a = self.seed_counts, self.scale
        return QuadraticForm(
            bias=float(form.evaluate(s[None, :])[0]),
            linear=a * (form.linear + 2.0 * form.quadratic @ s),
            quadratic=a * a * form.quadratic,
        )


def search_human_set(
    *,
    predictor: Any,
    features: FeatureTable,
    budget: int,
    forced: np.ndarray,
    search: str,
    candidates: int,
    rng_seed: int,
) -> tuple[np.ndarray, float]:
    """The router's choice of exactly ``budget`` items with ``forced`` (the seed) included, and
    its predicted score (``routing.core.router``: ``greedy`` or ``sampling``)."""
    from routing.core import router

    n = len(features.ids)
    human = np.zeros(n, dtype=bool)
    human[np.asarray(forced, dtype=np.int64)] = True
    rest = np.flatnonzero(~human)
    remaining = budget - int(human.sum())
    if remaining < 0:
        raise ValueError(f"the seed ({int(human.sum())}) exceeds the budget ({budget})")
    seen_by_router = predictor
    if human.any():
        seen_by_router = _SeededPredictor(
            base=predictor,
            seed_counts=counts_of(matrix=features.matrix, human=human, n_pool=n),
            scale=len(rest) / n,
        )
    common = {
        "matrix": features.matrix[rest],
        "predictor": seen_by_router,
        "budget": int(remaining),
        "feature_names": features.names,
        "feature_version": features.version,
        "seed": rng_seed,
    }
    if search == "greedy":
        result = router.route_greedy(**common)
    elif search == "sampling":
        result = router.route_sampling(**common, candidates=candidates)
    else:
        raise ValueError(f"unknown search {search!r}: greedy or sampling")
    human[rest[result.human]] = True
    return human, float(result.predicted_score)
