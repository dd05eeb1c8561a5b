from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from annotate.models import CampaignRole
from annotate.permissions import get_campaign_for_role_or_404
from annotate.selectors import (
    campaigns_visible_to,
    get_campaign_progress,
    recent_jobs,
    roles_in_campaign,
)
from annotate.services.llm_jobs import configured_llm_annotators
from annotate.views.exports import exports_context

ANY_ROLE = {role.value for role in CampaignRole}


@login_required
@require_GET
def home(request):
    campaigns = [
        (campaign, sorted(roles_in_campaign(user=request.user, campaign=campaign)))
        for campaign in campaigns_visible_to(request.user)
    ]
    from annotate.permissions import can_create_campaigns

    return render(
        request,
        "annotate/home.html",
        {"campaigns": campaigns, "can_create_campaigns": can_create_campaigns(request.user)},
    )


@login_required
@require_GET
def campaign_detail(request, slug: str):
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=ANY_ROLE)
    roles = roles_in_campaign(user=request.user, campaign=campaign)
    is_pm = CampaignRole.PROJECT_MANAGER in roles
    context = {
        "campaign": campaign,
        "roles": roles,
        "is_pm": is_pm,
        "is_annotator": CampaignRole.ANNOTATOR in roles,
        "is_researcher": CampaignRole.RESEARCHER in roles,
        "progress": get_campaign_progress(campaign=campaign) if is_pm or CampaignRole.RESEARCHER in roles else None,
        "jobs": recent_jobs(campaign=campaign) if is_pm else [],
        "llm_annotators": configured_llm_annotators() if is_pm else [],
    }
    if context["is_researcher"]:
        context |= exports_context(campaign)
    return render(request, "annotate/campaign_detail.html", context)
