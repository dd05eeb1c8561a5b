"""The routing seed (``routing.routing_seed``): random human items the judges are weighed on."""

from __future__ import annotations

import numpy as np

from routing.routing_seed import choose_seed, default_seed_size


def test_the_default_seed_is_twenty_items_at_most_half_the_budget():
    assert [default_seed_size(b) for b in (0, 1, 5, 40, 41, 1000)] == [0, 0, 2, 20, 20, 20]


def test_a_first_seed_starts_with_the_items_humans_labelled_before_any_routing():
    labelled = np.zeros(50, dtype=bool)
    labelled[[4, 9, 30]] = True
    seed = choose_seed(n=50, size=5, previous=None, labelled=labelled, rng=np.random.default_rng(0))
    assert len(seed) == 5 and {4, 9, 30} <= set(seed.tolist())
    assert (np.diff(seed) > 0).all()
    # More labelled items than the seed holds: a random subset of them, no draw.
    fewer = choose_seed(
        n=50, size=2, previous=None, labelled=labelled, rng=np.random.default_rng(0)
    )
    assert len(fewer) == 2 and set(fewer.tolist()) <= {4, 9, 30}


def test_a_later_seed_keeps_the_last_one_whole_and_tops_it_up_at_random():
    labelled = np.ones(40, dtype=bool)  # labels the router chose do not enter a kept seed
    previous = np.array([3, 17, 25])
    grown = choose_seed(
        n=40, size=6, previous=previous, labelled=labelled, rng=np.random.default_rng(1)
    )
    assert len(grown) == 6 and set(previous.tolist()) < set(grown.tolist())
    smaller = choose_seed(
        n=40, size=1, previous=previous, labelled=labelled, rng=np.random.default_rng(1)
    )
    assert smaller.tolist() == [3, 17, 25]
    draws = [
        tuple(
            choose_seed(
                n=40, size=6, previous=previous, labelled=labelled, rng=np.random.default_rng(s)
            )
        )
        for s in range(20)
    ]
    assert len(set(draws)) > 10  # the top-up is a random draw, not a fixed choice


def test_a_seed_never_holds_more_items_than_the_campaign():
    seed = choose_seed(
        n=3, size=10, previous=None, labelled=np.zeros(3, dtype=bool), rng=np.random.default_rng(0)
    )
    assert seed.tolist() == [0, 1, 2]
