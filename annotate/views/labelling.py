"""The annotator's workspace: one item at a time, submit-and-next over HTMX."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from annotate.forms import PairwiseJudgementForm
from annotate.models import CampaignRole
from annotate.permissions import get_assignment_for_annotator_or_404, get_campaign_for_role_or_404
from annotate.selectors import count_submitted_by
from annotate.services.annotations import SubmissionRejected, submit_pairwise_annotation
from annotate.services.assignments import claim_next_assignment

ANNOTATOR = {CampaignRole.ANNOTATOR.value}


def _task_context(request, campaign, *, form=None, error: str = "", notice: str = "") -> dict:
    assignment = claim_next_assignment(campaign=campaign, annotator=request.user)
    responses = list(assignment.instance.responses.order_by("position")[:2]) if assignment else []
    return {
        "campaign": campaign,
        "assignment": assignment,
        "responses": responses,
        "form": form or PairwiseJudgementForm(campaign=campaign),
        "error": error,
        "notice": notice,
        "done_count": count_submitted_by(campaign=campaign, annotator=request.user),
    }


@login_required
@require_http_methods(["GET"])
def label_next(request, slug: str):
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=ANNOTATOR)
    context = _task_context(request, campaign)
    template = "annotate/partials/task.html" if request.htmx else "annotate/label.html"
    return render(request, template, context)


@login_required
@require_POST
def submit_label(request, slug: str, assignment_id: int):
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=ANNOTATOR)
    assignment = get_assignment_for_annotator_or_404(user=request.user, pk=assignment_id)
    if assignment.campaign_id != campaign.pk:
        return redirect("label_next", slug=slug)
    form = PairwiseJudgementForm(request.POST, campaign=campaign)
    if not form.is_valid():
        return _render_task_again(request, campaign, form=form, status=422)
    try:
        outcome = submit_pairwise_annotation(
            assignment_id=assignment.pk, annotator=request.user, judgement=form.to_judgement()
        )
    except SubmissionRejected as exc:
        return _render_task_again(request, campaign, form=form, error=str(exc), status=409)
    if not request.htmx:
        return redirect("label_next", slug=slug)
    notice = "Saved." if outcome.created else "Already saved earlier; counted once."
    # After a POST, re-render as a GET would: the next item.
    return render(request, "annotate/partials/task.html", _task_context(request, campaign, notice=notice))


def _render_task_again(request, campaign, *, form, error: str = "", status: int):
    context = _task_context(request, campaign, form=form, error=error)
    template = "annotate/partials/task.html" if request.htmx else "annotate/label.html"
    return render(request, template, context, status=status)
