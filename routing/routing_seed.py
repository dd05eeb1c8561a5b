"""The routing seed: human items drawn at random, on which the judges' reliabilities are measured.

The label an LLM-routed item ships with is the jury's, each judge weighted by its reliability on
human labels. Those weights must describe the judges on the items left to the jury, so they are
fitted on a uniformly random sample of the campaign (the seed), never on the items the router
chose because the LLM side looked wrong there: on those every judge looks worse than it is on the
rest (measured in the simulation, ``--llm-label jury``: weights fitted on every bought label cost
the default strategy 25 points of composed agreement on LLMBar at a 10% budget).

The seed is drawn once per campaign and kept by every re-route (a later run with a larger seed
size tops it up with more random items), so its labels stay a fair sample. On the first run,
items humans labelled before any routing (in queue order, not chosen by a router) count towards
it first.
"""

from __future__ import annotations

import numpy as np

DEFAULT_SEED_SIZE = 20  # random items, at most half the budget, unless the PM says otherwise


def default_seed_size(budget: int) -> int:
    return min(DEFAULT_SEED_SIZE, max(0, budget) // 2)


def choose_seed(
    *,
    n: int,
    size: int,
    previous: np.ndarray | None,
    labelled: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Positions (sorted int64) of the seed among ``n`` pairs: ``previous`` (the last run's seed,
    positions; ``None`` on a first run) kept whole, topped up to ``size`` with uniform draws from
    the other pairs. On a first run the pairs already ``labelled`` (bool (n,)) come first, in a
    random order, before any draw."""
    size = max(0, min(int(size), n))
    if previous is not None:
        seed = np.unique(np.asarray(previous, dtype=np.int64))
    else:
        seed = rng.permutation(np.flatnonzero(labelled))[:size].astype(np.int64)
    missing = size - len(seed)
    if missing > 0:
        others = np.setdiff1d(np.arange(n, dtype=np.int64), seed)
        seed = np.concatenate([seed, rng.choice(others, missing, replace=False)])
    return np.sort(seed).astype(np.int64)
