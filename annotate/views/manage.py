"""Project-manager screens: import, LLM jobs, job progress."""

from __future__ import annotations

import io
from typing import BinaryIO

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotate.forms import ImportUploadForm
from annotate.importers import IMPORT_FORMATS
from annotate.models import CampaignRole
from annotate.permissions import get_campaign_for_role_or_404, get_job_for_user_or_404
from annotate.services.campaign_setup import LOCAL_JUDGE, is_llm_annotator_allowed
from annotate.services.import_preview import (
    PreviewExpired,
    open_sealed_upload,
    preview_import,
    seal_upload,
)
from annotate.services.imports import ImportRejected, ImportTooLarge, import_or_enqueue
from annotate.services.llm_jobs import (
    JobAlreadyRunning,
    UnknownLLMAnnotator,
    start_http_judge_job,
    start_local_judge_job,
)

PM = {CampaignRole.PROJECT_MANAGER.value}


def _format_choices() -> list[tuple[str, str]]:
    return [(name, importer.label) for name, importer in IMPORT_FORMATS.items()]


def import_summary_text(summary) -> str:
    created = summary.created
    text = f"Imported {created:,} instance{'s' if created != 1 else ''}"
    if summary.labels_imported:
        text += f" with {summary.labels_imported:,} label{'s' if summary.labels_imported != 1 else ''} from the file"
    text += "."
    if summary.answers_not_in_task:
        kept = ", ".join(f"{key} ({n:,})" for key, n in sorted(summary.answers_not_in_task.items()))
        text += f" Answers to questions this task does not ask were kept in each label's record, not as answers: {kept}."
    return text


@login_required
@require_http_methods(["GET", "POST"])
def import_instances_page(request, slug: str):
    """Upload a file and import it at once ("import"), or see its first rows and every error
    first ("preview", which writes nothing) and then confirm (a ``sealed`` upload)."""
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=PM)
    context: dict = {
        "campaign": campaign,
        "errors": [],
        "total_errors": 0,
        "created": None,
        "preview": None,
    }
    form = ImportUploadForm(format_choices=_format_choices())
    if request.method == "POST" and request.POST.get("sealed"):
        try:
            sealed = open_sealed_upload(
                campaign=campaign, user_id=request.user.pk, token=request.POST["sealed"]
            )
        except PreviewExpired as exc:
            context["confirm_error"] = str(exc)
        else:
            response = _import(
                request,
                campaign=campaign,
                form=form,
                context=context,
                filename=sealed.filename,
                file=io.BytesIO(sealed.data),
                file_format=sealed.file_format,
            )
            if response is not None:
                return response
    elif request.method == "POST":
        form = ImportUploadForm(request.POST, request.FILES, format_choices=_format_choices())
        if form.is_valid():
            upload = form.cleaned_data["file"]
            file_format = form.cleaned_data["file_format"]
            if upload.size > settings.IMPORT_MAX_BYTES:
                # Not read at all: an oversized upload is refused by its size.
                form.add_error(
                    "file", f"The file is larger than {settings.IMPORT_MAX_BYTES} bytes."
                )
            elif request.POST.get("action") == "preview":
                preview = preview_import(campaign=campaign, file=upload, file_format=file_format)
                context["preview"] = preview
                context["sealed"] = (
                    seal_upload(
                        campaign=campaign,
                        user_id=request.user.pk,
                        filename=upload.name,
                        file_format=file_format,
                        file=upload,
                    )
                    if preview.can_import
                    else None
                )
                context["errors"] = list(preview.errors)
                context["total_errors"] = preview.total_errors
                context["previewed_name"] = upload.name
            else:
                response = _import(
                    request,
                    campaign=campaign,
                    form=form,
                    context=context,
                    filename=upload.name,
                    file=upload,
                    file_format=file_format,
                )
                if response is not None:
                    return response
    context["form"] = form
    more = context["total_errors"] - len(context["errors"])
    context["more_errors"] = f"{more:,} more error{'s' if more != 1 else ''}" if more > 0 else ""
    failed = (
        (context["errors"] and context["preview"] is None)
        or form.errors
        or context.get("confirm_error")
    )
    return render(request, "annotate/import.html", context, status=400 if failed else 200)


def _import(
    request, *, campaign, form, context: dict, filename: str, file: BinaryIO, file_format: str
):
    """Import (or enqueue) the upload; a redirect on success, None with the errors in
    ``form`` or ``context`` otherwise."""
    try:
        outcome = import_or_enqueue(
            campaign=campaign,
            created_by=request.user,
            filename=filename,
            file=file,
            file_format=file_format,
        )
    except ImportTooLarge:
        form.add_error("file", f"The file is larger than {settings.IMPORT_MAX_BYTES} bytes.")
    except ImportRejected as exc:
        context["errors"] = exc.errors
        context["total_errors"] = exc.total_errors
    else:
        if outcome.job is not None:
            return redirect("job_detail", job_id=outcome.job.pk)
        messages.success(request, import_summary_text(outcome.summary))
        return redirect("campaign_detail", slug=campaign.slug)
    return None


@login_required
@require_POST
def start_llm_job(request, slug: str):
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=PM)
    # No annotator named: the local reward-model judge (the offline default).
    annotator = request.POST.get("annotator", "").strip()
    if not is_llm_annotator_allowed(campaign=campaign, annotator=annotator or LOCAL_JUDGE):
        allowed = ", ".join(campaign.allowed_llm_annotators)
        messages.error(
            request,
            f'The LLM annotator "{annotator or LOCAL_JUDGE}" is not allowed to label this campaign '
            f"(allowed: {allowed}; change it in the settings).",
        )
        return redirect("campaign_detail", slug=campaign.slug)
    try:
        if annotator:
            job = start_http_judge_job(
                campaign=campaign, created_by=request.user, annotator=annotator
            )
        else:
            job = start_local_judge_job(campaign=campaign, created_by=request.user)
    except (JobAlreadyRunning, UnknownLLMAnnotator) as exc:
        messages.error(request, str(exc))
        return redirect("campaign_detail", slug=campaign.slug)
    return redirect("job_detail", job_id=job.pk)


@login_required
@require_GET
def job_detail(request, job_id: int):
    job = get_job_for_user_or_404(user=request.user, pk=job_id)
    template = "annotate/partials/job.html" if request.htmx else "annotate/job.html"
    return render(request, template, {"job": job})
