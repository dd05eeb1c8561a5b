"""The routing columns of annotate's exports: each instance's decision in its campaign's latest
routing run (registered with ``annotate.exports.routing_hook`` when the app loads)."""

from __future__ import annotations

from annotate.exports.routing_hook import RoutingColumns


def latest_routing_decisions(campaign_id: int, id_from: int, id_to: int) -> dict[int, RoutingColumns]:
    """``{instance_id: RoutingColumns}`` for the campaign's instances with ids in
    ``[id_from, id_to)`` that its latest routing run decided; empty when it was never routed."""
    from routing.models import RoutingDecision, RoutingRun

    run_id = RoutingRun.objects.filter(campaign_id=campaign_id).order_by("-created_at", "-id").values_list("id", flat=True).first()
    if run_id is None:
        return {}
    rows = RoutingDecision.objects.filter(
        run_id=run_id, instance_id__gte=id_from, instance_id__lt=id_to
    ).values_list("instance_id", "route", "expected_gain")
    return {instance_id: RoutingColumns(route, gain, run_id) for instance_id, route, gain in rows}
