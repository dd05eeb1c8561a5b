"""Reading routing runs for pages and the API."""

from __future__ import annotations

from collections import Counter

from annotate.models import (
    Campaign,
)
from routing.models import RoutingRun


def latest_routing_run(*, campaign: Campaign) -> RoutingRun | None:
    return RoutingRun.objects.filter(campaign=campaign).order_by("-id").first()


def decision_counts(run: RoutingRun) -> Counter:
    return Counter(run.decisions.values_list("route", flat=True))
