"""Routing columns without importing routing: the routing app registers a lookup here when it
loads (``RoutingConfig.ready``); without one, the routing columns are null.

A lookup is ``lookup(campaign_id, id_from, id_to) -> {instance_id: RoutingColumns}`` for the
campaign's instances with ``id_from <= id < id_to``. :class:`RoutingWindow` asks it for one
window of ids at a time as an export walks the instances in id order, so memory stays flat.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RoutingColumns:
    route: str  # "human" | "llm"
    expected_gain: float
    run_id: int


RoutingLookup = Callable[[int, int, int], dict[int, RoutingColumns]]
_lookup: list[RoutingLookup] = []


def register_routing_lookup(lookup: RoutingLookup) -> None:
    """Install the lookup (the latest registration wins; registering twice is harmless)."""
    _lookup[:] = [lookup]


class RoutingWindow:
    def __init__(self, *, campaign_id: int, window: int = 2000) -> None:
        self.campaign_id, self.window = campaign_id, window
        self._from, self._to = 0, 0
        self._rows: dict[int, RoutingColumns] = {}

    def get(self, instance_id: int) -> RoutingColumns | None:
        if not _lookup:
            return None
        if not self._from <= instance_id < self._to:
            self._from, self._to = instance_id, instance_id + self.window
            self._rows = _lookup[0](self.campaign_id, self._from, self._to)
        return self._rows.get(instance_id)

    def columns(self, instance_id: int) -> dict:
        found = self.get(instance_id)
        return {
            "route": found.route if found else None,
            "expected_gain": found.expected_gain if found else None,
            "routing_run": found.run_id if found else None,
        }
