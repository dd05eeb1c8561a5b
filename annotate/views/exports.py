"""Researcher downloads, streamed."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, StreamingHttpResponse
from django.views.decorators.http import require_GET

from annotate.exports import get_exporter
from annotate.models import CampaignRole
from annotate.permissions import get_campaign_for_role_or_404

RESEARCHER = {CampaignRole.RESEARCHER.value}


@login_required
@require_GET
def download_export(request, slug: str, format_name: str):
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=RESEARCHER)
    try:
        exporter = get_exporter(format_name)(campaign=campaign)
    except ValueError as exc:
        raise Http404(str(exc)) from None
    response = StreamingHttpResponse(exporter.iter_lines(), content_type=exporter.content_type)
    filename = f"{campaign.slug}-{exporter.format_name}.{exporter.file_extension}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
