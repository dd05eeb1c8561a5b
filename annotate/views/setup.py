"""Project-manager campaign setup: create from a template, settings, task editor, guidelines,
and the lifecycle buttons (clone, pause, resume, close, lock, unlock). Plain forms; HTMX optional."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from annotate.models import CampaignRole
from annotate.permissions import can_create_campaigns, get_campaign_for_role_or_404
from annotate.services.campaign_setup import (
    CampaignStateError,
    clone_campaign,
    close_campaign,
    llm_annotator_choices,
    lock_campaign,
    pause_campaign,
    question_specs_of,
    resume_campaign,
    unlock_campaign,
    update_campaign_settings,
)
from annotate.services.campaigns import create_campaign, save_guidelines
from annotate.services.task_schemas import InvalidTaskSchema, create_task_schema
from annotate.setup_forms import (
    CampaignCreateForm,
    CampaignSettingsForm,
    CloneCampaignForm,
    GuidelinesForm,
    QuestionForm,
    QuestionFormSet,
)

PM = {CampaignRole.PROJECT_MANAGER.value}


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@login_required
@require_http_methods(["GET", "POST"])
def campaign_create(request):
    if not can_create_campaigns(request.user):
        raise PermissionDenied("You may not create campaigns.")
    form = CampaignCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            campaign = create_campaign(
                name=data["name"], slug=data["slug"], description=data["description"],
                template=data["template"], created_by=request.user,
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"Created {campaign.name}. Next: its settings, task and guidelines.")
            return redirect("campaign_settings", slug=campaign.slug)
    status = 400 if form.errors else 200
    return render(request, "annotate/setup/create.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def campaign_settings(request, slug: str):
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=PM)
    names = llm_annotator_choices()
    if request.method == "POST":
        form = CampaignSettingsForm(request.POST, llm_annotators=names)
        if form.is_valid():
            try:
                update_campaign_settings(campaign=campaign, **form.cleaned_data)
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, "Settings saved.")
                return redirect("campaign_settings", slug=campaign.slug)
    else:
        form = CampaignSettingsForm(initial=CampaignSettingsForm.initial_for(campaign), llm_annotators=names)
    context = {
        "campaign": campaign,
        "form": form,
        "clone_form": CloneCampaignForm(initial={"name": f"{campaign.name} (copy)", "slug": f"{campaign.slug}-copy"[:80]}),
    }
    return render(request, "annotate/setup/settings.html", context, status=400 if form.errors else 200)


_LIFECYCLE = {
    "pause": (pause_campaign, "Paused: no new items are handed out."),
    "resume": (resume_campaign, "Resumed: items are handed out again."),
    "close": (close_campaign, "Closed: nothing more is handed out; labels and exports stay."),
    "lock": (lock_campaign, "Locked: no claims, submits or edits until unlocked."),
    "unlock": (unlock_campaign, "Unlocked."),
}


@login_required
@require_POST
def campaign_lifecycle(request, slug: str, action: str):
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=PM)
    if action not in _LIFECYCLE:
        messages.error(request, f'Unknown action "{action}".')
        return redirect("campaign_settings", slug=campaign.slug)
    service, done = _LIFECYCLE[action]
    try:
        service(campaign=campaign)
    except CampaignStateError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done)
    return redirect("campaign_settings", slug=campaign.slug)


@login_required
@require_POST
def campaign_clone(request, slug: str):
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=PM)
    form = CloneCampaignForm(request.POST)
    if form.is_valid():
        try:
            clone = clone_campaign(
                campaign=campaign, name=form.cleaned_data["name"], slug=form.cleaned_data["slug"],
                cloned_by=request.user, include_instances=form.cleaned_data["include_instances"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"Cloned into {clone.name} (a draft: resume it to start labelling).")
            return redirect("campaign_settings", slug=clone.slug)
    names = llm_annotator_choices()
    context = {
        "campaign": campaign,
        "form": CampaignSettingsForm(initial=CampaignSettingsForm.initial_for(campaign), llm_annotators=names),
        "clone_form": form,
    }
    return render(request, "annotate/setup/settings.html", context, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def campaign_task(request, slug: str):
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=PM)
    schema_error = ""
    if request.method == "POST":
        formset = QuestionFormSet(request.POST, prefix="q")
        if formset.is_valid():
            specs = [form.to_spec() for form in formset.ordered_forms]
            try:
                schema = create_task_schema(
                    campaign=campaign, questions=specs,
                    template=campaign.task_schema.template if campaign.task_schema_id else "",
                )
            except InvalidTaskSchema as exc:
                schema_error = str(exc)
            else:
                messages.success(
                    request, f"Saved as task version {schema.version}; earlier labels keep their version."
                )
                return redirect("campaign_task", slug=campaign.slug)
    else:
        formset = QuestionFormSet(
            prefix="q",
            initial=[QuestionForm.initial_for(spec) | {"ORDER": i + 1} for i, spec in enumerate(question_specs_of(campaign))],
        )
    context = {"campaign": campaign, "formset": formset, "schema_error": schema_error}
    # Reaching here after a POST means it was refused (a valid save redirects).
    return render(request, "annotate/setup/task.html", context, status=400 if request.method == "POST" else 200)


@login_required
@require_http_methods(["GET", "POST"])
def campaign_guidelines(request, slug: str):
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=PM)
    preview = None
    if request.method == "POST":
        form = GuidelinesForm(request.POST)
        if form.is_valid():
            markdown = form.cleaned_data["markdown"]
            if "preview" in request.POST:
                preview = markdown
                if request.htmx:
                    return render(request, "annotate/setup/partials/guidelines_preview.html", {"preview": preview})
            else:
                version = save_guidelines(campaign=campaign, markdown=markdown, saved_by=request.user)
                messages.success(request, f"Saved as guidelines version {version.version}.")
                return redirect("campaign_guidelines", slug=campaign.slug)
    else:
        form = GuidelinesForm(initial={"markdown": campaign.guidelines_markdown})
    context = {
        "campaign": campaign,
        "form": form,
        "preview": preview,
        "versions": campaign.guideline_versions.select_related("created_by").order_by("-version"),
    }
    return render(request, "annotate/setup/guidelines.html", context)
