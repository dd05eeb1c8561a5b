"""The PM's data browser: filtered, paginated instances, and one instance with every label."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from annotate.forms_people import DataFilterForm
from annotate.models import CampaignRole
from annotate.permissions import get_campaign_for_role_or_404
from annotate.selectors_data import (
    aggregate_label_for_instance,
    browse_instances,
    get_instance_detail,
    tags_available,
)

PM = {CampaignRole.PROJECT_MANAGER.value}
PAGE_SIZE = 50


@login_required
@require_GET
def campaign_data(request, slug: str):
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=PM)
    form = DataFilterForm(request.GET)
    if not form.is_valid():
        context = {"campaign": campaign, "form": form, "page": None, "tags_available": tags_available()}
        return render(request, "annotate/data/browse.html", context, status=400)
    paginator = Paginator(browse_instances(campaign=campaign, filters=form.filters()), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "campaign": campaign,
        "form": form,
        "page": page,
        "filter_query": query.urlencode(),
        "tags_available": tags_available(),
    }
    return render(request, "annotate/data/browse.html", context)


@login_required
@require_GET
def campaign_instance(request, slug: str, instance_id: int):
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=PM)
    detail = get_instance_detail(campaign=campaign, instance_id=instance_id)
    if detail is None:
        raise Http404("No such instance in this campaign.")
    context = {
        "campaign": campaign,
        "detail": detail,
        "instance": detail.instance,
        "label": aggregate_label_for_instance(campaign=campaign, instance=detail.instance),
    }
    return render(request, "annotate/data/instance.html", context)
