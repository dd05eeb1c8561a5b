"""Researcher exports: start a job, watch it, download its files; and the streamed download."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from annotate.exports import EXPORTERS, get_exporter
from annotate.forms import ExportForm
from annotate.models import Campaign, CampaignRole
from annotate.permissions import get_campaign_for_role_or_404
from annotate.selectors import campaign_and_roles, export_file_of_campaign, recent_exports
from annotate.services.exports import ExportRejected, start_export_job

RESEARCHER = {CampaignRole.RESEARCHER.value}


def export_formats() -> dict[str, str]:
    return {name: exporter.title for name, exporter in EXPORTERS.items()}


def get_campaign_for_researcher_or_404(*, user, slug: str) -> Campaign:
    """The campaign when ``user`` is one of its researchers (or a site admin); 404 for anyone
    else, members included: an export's existence is not shown to them."""
    campaign, roles = campaign_and_roles(user=user, slug=slug)
    if campaign is None or not (RESEARCHER & roles or user.is_superuser):
        raise Http404("No such campaign.")
    return campaign


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


@login_required
@require_http_methods(["GET", "POST"])
def campaign_exports(request, slug: str):
    """The ``#exports`` section: the export form and the latest export jobs with their files.
    A POST starts a job and re-renders as GET (HTMX) or redirects to the campaign page."""
    campaign = get_campaign_for_researcher_or_404(user=request.user, slug=slug)
    form = ExportForm(request.POST or None, formats=export_formats())
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            start_export_job(
                campaign=campaign,
                created_by=request.user,
                format_name=form.cleaned_data["format"],
                options=form.export_options(),
            )
        except ExportRejected as exc:
            error = str(exc)
        else:
            if not request.htmx:
                return redirect("campaign_detail", slug=campaign.slug)
            form = ExportForm(formats=export_formats())
    return render(request, "annotate/partials/exports.html", exports_context(campaign, form, error))


def exports_context(campaign: Campaign, form: ExportForm | None = None, error: str = "") -> dict:
    exports = recent_exports(campaign=campaign)
    return {
        "campaign": campaign,
        "export_form": form or ExportForm(formats=export_formats()),
        "export_error": error,
        "exports": exports,
        "exports_running": any(not job.is_finished for job in exports),
    }


@login_required
@require_GET
def download_export_file(request, slug: str, file_id: int):
    campaign = get_campaign_for_researcher_or_404(user=request.user, slug=slug)
    stored = export_file_of_campaign(campaign=campaign, file_id=file_id)
    if stored is None:
        raise Http404("No such export file.")
    path = Path(settings.EXPORT_DIR) / stored.path
    if not path.is_file():
        raise Http404("The export file is gone from storage.")
    return FileResponse(path.open("rb"), as_attachment=True, filename=stored.name, content_type=stored.content_type)
