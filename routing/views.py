"""The PM's routing page: start a routing run, read its decisions, curve and reasons."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from annotate.models import CampaignRole, Instance, JobKind
from annotate.permissions import get_campaign_for_role_or_404
from routing.campaign_routing import (
    RoutingRefused,
    latest_routing_run,
    routable_annotators,
    start_routing_job,
)
from routing.forms import RouteCampaignForm
from routing.models import Route, RoutingStrategy

PM = {CampaignRole.PROJECT_MANAGER.value}
DECISIONS_SHOWN = 50
CURVE_WIDTH, CURVE_HEIGHT = 480, 220


def _curve_svg(run) -> dict | None:
    """Polyline points of the predicted agreement-vs-budget curve, in an SVG box (no JS)."""
    if not run or not run.curve:
        return None
    values = [agreement for _, agreement in run.curve]
    low, high = min(values), max(values)
    span = max(high - low, 1e-6)

    def y(value: float) -> float:
        return round(CURVE_HEIGHT - 20 - (value - low) / span * (CURVE_HEIGHT - 40), 1)

    points = " ".join(
        f"{round(20 + share * (CURVE_WIDTH - 40), 1)},{y(a)}" for share, a in run.curve
    )
    share = run.budget / run.n_instances if run.n_instances else 0
    return {
        "width": CURVE_WIDTH,
        "height": CURVE_HEIGHT,
        "points": points,
        "budget_x": round(20 + share * (CURVE_WIDTH - 40), 1),
        "low": low,
        "high": high,
        "at_budget": min(run.curve, key=lambda point: abs(point[0] - share))[1],
        "budget_share": share,
    }


@login_required
@require_http_methods(["GET", "POST"])
def campaign_routing(request, slug: str):
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=PM)
    annotators = routable_annotators()
    n_instances = Instance.objects.filter(campaign=campaign).count()
    if request.method == "POST":
        form = RouteCampaignForm(request.POST, annotators=annotators, n_instances=n_instances)
        if form.is_valid():
            try:
                start_routing_job(
                    campaign=campaign,
                    created_by=request.user,
                    budget=form.budget_count(),
                    strategy=form.cleaned_data["strategy"],
                    annotators=form.annotators(),
                    seed_size=form.cleaned_data.get("seed_size"),
                )
            except RoutingRefused as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request, "Routing started: the LLM annotators judge every pair first."
                )
                return redirect("campaign_routing", slug=campaign.slug)
    else:
        form = RouteCampaignForm(annotators=annotators, n_instances=n_instances)
    run = latest_routing_run(campaign=campaign)
    job = campaign.jobs.filter(kind=JobKind.ROUTING).order_by("-created_at").first()
    context = {
        "campaign": campaign,
        "form": form,
        "n_instances": n_instances,
        "job": job,
        "run": run,
        "curve": _curve_svg(run),
        "human_decisions": (
            run.decisions.filter(route=Route.HUMAN).select_related("instance")[:DECISIONS_SHOWN]
            if run
            else []
        ),
        "llm_decisions": (
            run.decisions.filter(route=Route.LLM)
            .select_related("instance")
            .order_by("-expected_gain")[:10]
            if run
            else []
        ),
        "reliability": (
            sorted(
                run.model_details.get("reliability", {}).items(), key=lambda kv: -kv[1]["weight"]
            )
            if run
            else []
        ),
        "history": campaign.routing_runs.order_by("-id")[:10],
        "strategies": RoutingStrategy,
    }
    status = 400 if form.errors else 200
    return render(request, "routing/campaign_routing.html", context, status=status)
