"""Project-manager quality screens: per-annotator quality with flags to lift and the
campaign's quality settings, and marking check items (gold, attention, qualification)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from annotate.models import CampaignRole, Instance, QualitySettings, QueueItemKind
from annotate.permissions import get_campaign_for_role_or_404
from annotate.selectors_quality import annotator_quality, check_items, get_quality_settings
from annotate.services.quality import (
    ExpectedAnswer,
    QualityRejected,
    lift_quality_flag,
    mark_check_item,
    update_quality_settings,
)
from annotate.services.task_schemas import campaign_schema

PM = {CampaignRole.PROJECT_MANAGER.value}


class QualitySettingsForm(forms.ModelForm):
    class Meta:
        model = QualitySettings
        exclude = ["campaign"]


class CheckItemForm(forms.Form):
    instance = forms.IntegerField(widget=forms.HiddenInput)
    kind = forms.ChoiceField(choices=QueueItemKind.choices)
    question = forms.CharField(required=False, max_length=60)
    code = forms.CharField(required=False, max_length=60, label="Expected answer (in row order: A is the first response)")
    tolerance = forms.IntegerField(required=False, min_value=0, initial=0)


@login_required
@require_http_methods(["GET", "POST"])
def campaign_quality(request, slug: str):
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=PM)
    settings = get_quality_settings(campaign=campaign)
    form = QualitySettingsForm(instance=settings)
    if request.method == "POST":
        form = QualitySettingsForm(request.POST, instance=settings)
        if form.is_valid():
            update_quality_settings(campaign=campaign, **form.cleaned_data)
            messages.success(request, "Quality settings saved.")
            return redirect("campaign_quality", slug=campaign.slug)
    return render(
        request,
        "annotate/quality/quality.html",
        {"campaign": campaign, "rows": annotator_quality(campaign=campaign), "form": form},
        status=422 if form.errors else 200,
    )


@login_required
@require_POST
def lift_flag(request, slug: str, flag_id: int):
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=PM)
    try:
        flag = lift_quality_flag(campaign=campaign, flag_id=flag_id, lifted_by=request.user)
    except QualityRejected as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Lifted the flag on {flag.annotator}.")
    return redirect("campaign_quality", slug=campaign.slug)


@login_required
@require_http_methods(["GET", "POST"])
def check_items_page(request, slug: str):
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=PM)
    schema = campaign_schema(campaign)
    primary = schema.primary or next((q for q in schema.questions if q.options), None)
    status = 200
    if request.method == "POST":
        form = CheckItemForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            instance = Instance.objects.filter(campaign=campaign, pk=data["instance"]).first()
            expected = []
            if data["kind"] != QueueItemKind.REGULAR:
                expected = [
                    ExpectedAnswer(
                        question=data["question"] or (primary.key if primary else ""),
                        code=data["code"],
                        tolerance=data["tolerance"] or 0,
                    )
                ]
            try:
                if instance is None:
                    raise QualityRejected("That item is not in this campaign.")
                mark_check_item(
                    campaign=campaign, instance=instance, kind=data["kind"], expected=expected, created_by=request.user
                )
            except QualityRejected as exc:
                messages.error(request, f"Nothing was changed: {exc}")
                status = 422
            else:
                messages.success(request, f"Item {instance.external_id} is now {data['kind']}.")
                return redirect("campaign_check_items", slug=campaign.slug)
        else:
            messages.error(request, f"Nothing was changed: {form.errors.as_text()}")
            status = 422
    return render(
        request,
        "annotate/quality/check_items.html",
        {
            "campaign": campaign,
            "items": check_items(campaign=campaign),
            "kinds": QueueItemKind.choices,
            "primary": primary,
            "questions": [q for q in schema.questions if q.options],
        },
        status=status,
    )
