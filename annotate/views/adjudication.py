"""The adjudication page (issue 17): a PM sets the final label of a disagreement, with a note;
and the agreement page (α and κ per question, and by tag where routing has tagged the items)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotate.models import CampaignRole, Instance
from annotate.permissions import get_campaign_for_role_or_404
from annotate.selectors import list_disagreements
from annotate.selectors_reports import get_campaign_report
from annotate.services.adjudication import AdjudicationError, adjudicate_instance, preference_bounds
from annotate.services.reports import start_report_job

PM = {CampaignRole.PROJECT_MANAGER.value}


@login_required
@require_http_methods(["GET", "POST"])
def campaign_adjudication(request, slug):
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=PM)
    error, status = None, 200
    if request.method == "POST":
        instance_id = request.POST.get("instance", "")
        # A hand-made POST may name no item, or no number: a 400 that says so, not a 500.
        instance = (
            get_object_or_404(Instance, pk=int(instance_id), campaign=campaign) if instance_id.isdigit() else None
        )
        try:
            preference = int(request.POST.get("overall_preference", ""))
        except ValueError:
            error = "Choose the final preference."
        else:
            if instance is None:
                error = "Choose the item to adjudicate."
            else:
                try:
                    adjudicate_instance(
                        campaign=campaign,
                        instance=instance,
                        overall_preference=preference,
                        note=request.POST.get("note", ""),
                        decided_by=request.user,
                    )
                except AdjudicationError as exc:
                    error = str(exc)
        if error is None:
            messages.success(request, f"Final label of {instance.external_id} recorded.")
            return redirect("campaign_adjudication", slug=campaign.slug)
        status = 400
    low, high = preference_bounds(campaign=campaign)
    context = {
        "campaign": campaign,
        "rows": list_disagreements(campaign=campaign),
        "scale": list(range(low, high + 1)),
        "error": error,
        "posted": request.POST if error else {},
    }
    return render(request, "annotate/adjudication/adjudication.html", context, status=status)


@login_required
@require_GET
def campaign_agreement(request, slug):
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=PM)
    return render(
        request,
        "annotate/adjudication/agreement.html",
        {"campaign": campaign, "report": get_campaign_report(campaign=campaign)},
    )


@login_required
@require_POST
def recompute_report(request, slug):
    """Start a report job (agreement and aggregate), or point at the one already running."""
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=PM)
    job = start_report_job(campaign=campaign, created_by=request.user)
    messages.success(request, f"Recomputing agreement and the aggregate: job #{job.pk}.")
    return redirect("campaign_agreement", slug=campaign.slug)
