"""Reads of routing's own tables for other screens (issue 17)."""

from __future__ import annotations

from routing.models import InstanceFeatures


def instance_tags(*, campaign) -> dict[int, list[str]]:
    """Instance id → its tags (the newest feature row's), for ``annotate.selectors.agreement_report``."""
    tags: dict[int, list[str]] = {}
    rows = (
        InstanceFeatures.objects.filter(instance__campaign=campaign)
        .order_by("instance_id", "-computed_at")
        .values_list("instance_id", "tags")
    )
    for instance_id, values in rows:
        tags.setdefault(instance_id, list(values or []))
    return tags
