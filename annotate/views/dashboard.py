"""The project manager's dashboard: figures from ``annotate.selectors_dashboard`` drawn as SVG.

A plain GET renders the whole page; an HTMX request (the page polls every 15 s) gets only the
``#dashboard-figures`` fragment.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from annotate import charts
from annotate.models import CampaignRole
from annotate.permissions import get_campaign_for_role_or_404
from annotate.selectors_dashboard import Dashboard, get_dashboard
from annotate.selectors_reports import get_campaign_report

PM = {CampaignRole.PROJECT_MANAGER.value}


def dashboard_charts(dashboard: Dashboard) -> dict:
    """The dashboard's SVG charts, keyed by name."""
    progress = charts.stacked_bars(
        title="Progress by route",
        bars=[
            charts.StackedBar(
                label=row.label,
                segments=(
                    charts.Segment("done", row.done),
                    charts.Segment("assigned", row.assigned or 0),
                    charts.Segment("remaining", row.remaining),
                ),
            )
            for row in dashboard.progress
        ],
    )
    throughput = dashboard.throughput
    fmt = "%m-%d %H:00" if throughput.bucket == "hour" else "%Y-%m-%d"
    x_labels = [
        (timezone.localtime(b.start) if timezone.is_aware(b.start) else b.start).strftime(fmt)
        for b in throughput.buckets
    ]
    throughput_chart = charts.lines(
        title=f"Labels per {throughput.bucket}",
        x_labels=x_labels,
        series=[
            charts.Series("human labels", tuple(b.human for b in throughput.buckets)),
            charts.Series("LLM labels", tuple(b.llm for b in throughput.buckets)),
        ],
    )
    by_annotator = charts.bars(
        title="Human labels by annotator",
        bars=[charts.Bar(row.username, row.labels) for row in dashboard.annotators],
    )
    by_model = charts.bars(
        title="LLM labels by model",
        bars=[charts.Bar(model.model_name, model.labels) for model in dashboard.models],
    )
    return {
        "progress_chart": progress,
        "throughput_chart": throughput_chart,
        "annotator_chart": by_annotator,
        "model_chart": by_model,
    }


@login_required
@require_GET
def campaign_dashboard(request, slug: str):
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=PM)
    dashboard = get_dashboard(campaign=campaign)
    context = {
        "campaign": campaign,
        "dashboard": dashboard,
        "agreement": get_campaign_report(campaign=campaign),
        **dashboard_charts(dashboard),
    }
    template = "annotate/dashboard/figures.html" if request.htmx else "annotate/dashboard/page.html"
    response = render(request, template, context)
    # The page and its fragment share a URL: a browser cache must keep them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response
