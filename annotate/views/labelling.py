"""The annotator's workspace: one item at a time, submit-and-next over HTMX.

A plain GET only shows the annotator's open item (or a button to get one); it never claims
or renews a lease, so link prefetchers and reloading tabs hold nothing. Claiming is the
explicit POST ``label_claim`` (idempotent: an open lease is returned, not a second one), and
submit-and-next claims the next item as part of its POST.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from annotate.forms import SkipForm, TaskAnswerForm, initial_from_answers
from annotate.models import Assignment, AssignmentStatus, CampaignRole
from annotate.permissions import get_assignment_for_annotator_or_404, get_campaign_for_role_or_404
from annotate.selectors import (
    get_annotator_progress,
    in_display_order,
    recent_submissions,
    responses_by_position,
)
from annotate.selectors_quality import why_no_items
from annotate.services.annotations import (
    SubmissionRejected,
    save_assignment_draft,
    submit_annotation,
    submitted_answers_are_editable,
)
from annotate.services.answers import answers_of, to_display_slots, why_unanswerable
from annotate.services.assignments import (
    SkipRejected,
    claim_next_assignment,
    get_current_assignment,
    mark_opened,
    skip_assignment,
)
from annotate.services.task_schemas import schema_for_assignment

ANNOTATOR = {CampaignRole.ANNOTATOR.value}
TASK_PARTIAL = "annotate/partials/task.html"


def annotator_login_required(view):
    """``login_required`` that answers HTMX requests with 401 instead of a login page.

    A login page swapped into ``#task`` would replace the annotator's typed answer; a 401
    leaves the form in place and the workspace script offers a log-in link that returns to
    this campaign's label page (never to a POST-only URL).
    """

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        label_page = reverse("label_next", kwargs={"slug": kwargs["slug"]})
        if request.htmx:
            return HttpResponse(
                "Your session has ended. Log in again; your answer is kept.", status=401
            )
        return redirect_to_login(label_page)

    return wrapped


def _displayed_responses(assignment: Assignment):
    # A claim that just created the lease has read the responses already.
    responses = getattr(assignment, "responses_by_position", None) or responses_by_position(
        instance_id=assignment.instance_id
    )
    mark_opened(assignment=assignment, positions=sorted(responses))
    return in_display_order(assignment=assignment, responses=responses)


def _response_count(assignment: Assignment) -> int:
    """How many responses the item has, recording nothing (a submit or a draft never decides
    the order: the page the annotator saw did). The recorded display order lists every
    response, so an item already shown needs no query."""
    return len(assignment.display_order) or len(responses_by_position(instance_id=assignment.instance_id))


def _form_for(*, campaign, assignment: Assignment, n_responses: int, data=None, initial=None) -> TaskAnswerForm:
    # Field ids unique per assignment: htmx restores focus to an element with the same id
    # after a swap, which put the cursor in the next item's text box (keys then typed digits).
    return TaskAnswerForm(
        data,
        schema=schema_for_assignment(campaign=campaign, assignment=assignment),
        n_responses=n_responses,
        initial=initial,
        auto_id=f"a{assignment.pk}_%s",
    )


def _task_context(
    request,
    campaign,
    *,
    assignment: Assignment | None,
    form=None,
    error: str = "",
    notice: str = "",
    lost_answer: str = "",
    show_start: bool = False,
) -> dict:
    responses = _displayed_responses(assignment) if assignment else []
    if assignment is not None and form is None:
        form = _form_for(
            campaign=campaign, assignment=assignment, n_responses=len(responses), initial=assignment.draft or None
        )
    # Quality control may hold back every item (a failed qualification test): say so.
    blocked = "" if assignment is not None else why_no_items(campaign=campaign, annotator=request.user)
    show_start = show_start and not blocked
    cannot_answer = why_unanswerable(schema=form.schema, n_responses=len(responses)) if form else ""
    return {
        "campaign": campaign,
        "assignment": assignment,
        "responses": responses,
        "cannot_answer": cannot_answer,
        "form": form,
        "units": form.units() if form is not None else [],
        "skip_form": SkipForm(auto_id=f"skip{assignment.pk}_%s") if assignment else None,
        "error": error,
        "notice": notice,
        "lost_answer": lost_answer,
        "show_start": show_start,
        "blocked": blocked,
        "progress": get_annotator_progress(campaign=campaign, annotator=request.user),
    }


def _render(request, context: dict, *, status: int = 200):
    template = TASK_PARTIAL if request.htmx else "annotate/label.html"
    return render(request, template, context, status=status)


@never_cache
@annotator_login_required
@require_http_methods(["GET"])
def label_next(request, slug: str):
    """Show the annotator's open item, or a button to get one. Claims nothing."""
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=ANNOTATOR)
    assignment = get_current_assignment(campaign=campaign, annotator=request.user)
    return _render(
        request,
        _task_context(request, campaign, assignment=assignment, show_start=assignment is None),
    )


@never_cache
@annotator_login_required
@require_POST
def claim_item(request, slug: str):
    """Lease the next item (or return the open one). Idempotent."""
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=ANNOTATOR)
    assignment = claim_next_assignment(campaign=campaign, annotator=request.user)
    if not request.htmx:
        return redirect("label_next", slug=slug)
    return _render(request, _task_context(request, campaign, assignment=assignment))


@never_cache
@annotator_login_required
@require_http_methods(["GET", "POST"])
def submit_label(request, slug: str, assignment_id: int):
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=ANNOTATOR)
    if request.method == "GET":
        # E.g. after logging in again with ``next`` pointing here: show the workspace.
        return redirect("label_next", slug=slug)
    assignment = get_assignment_for_annotator_or_404(user=request.user, pk=assignment_id, campaign=campaign)
    if assignment.campaign_id != campaign.pk:
        return redirect("label_next", slug=slug)
    form = _form_for(campaign=campaign, assignment=assignment, n_responses=_response_count(assignment), data=request.POST)
    if not form.is_valid():
        # The same item again, with the annotator's answer and what is missing.
        return _render(request, _task_context(request, campaign, assignment=assignment, form=form), status=422)
    try:
        outcome = submit_annotation(
            assignment_id=assignment.pk,
            annotator=request.user,
            answers=form.to_answers(),
            time_spent_seconds=form.cleaned_data.get("time_spent_seconds"),
            campaign=campaign,
            assignment=assignment,
        )
    except SubmissionRejected as exc:
        assignment.refresh_from_db()
        if assignment.status == AssignmentStatus.LEASED:
            context = _task_context(request, campaign, assignment=assignment, form=form, error=str(exc))
            return _render(request, context, status=409)
        # The item is gone (given to someone else): show the next one with a fresh, empty form
        # (never this answer on another item), and the lost answer as text to copy.
        nxt = claim_next_assignment(campaign=campaign, annotator=request.user)
        context = _task_context(
            request,
            campaign,
            assignment=nxt,
            error=f"Item {assignment.instance.annotator_reference}: {exc}",
            lost_answer=form.describe_answer(),
        )
        return _render(request, context, status=409)
    item = assignment.instance.annotator_reference
    if outcome.created:
        notice = f"Saved item {item}."
    elif outcome.changed:
        notice = f"Updated your earlier answer to item {item}."
    else:
        notice = f"Item {item} was already saved with this answer; counted once."
    # Submit-and-next: the POST claims the next item, then the page shows it as a GET would.
    nxt = claim_next_assignment(campaign=campaign, annotator=request.user)
    if not request.htmx:
        return redirect("label_next", slug=slug)
    return _render(request, _task_context(request, campaign, assignment=nxt, notice=notice))


@annotator_login_required
@require_POST
def save_draft(request, slug: str, assignment_id: int):
    """Autosave of the unsubmitted answer (and a lease renewal). 204, or 409 when the item
    is no longer the annotator's to answer."""
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=ANNOTATOR)
    assignment = get_assignment_for_annotator_or_404(user=request.user, pk=assignment_id, campaign=campaign)
    if assignment.campaign_id != campaign.pk:
        return HttpResponse(status=404)
    form = _form_for(campaign=campaign, assignment=assignment, n_responses=_response_count(assignment))
    saved = save_assignment_draft(
        assignment_id=assignment.pk, annotator=request.user, draft=form.draft_from(request.POST)
    )
    return HttpResponse(status=204 if saved else 409)


@never_cache
@annotator_login_required
@require_POST
def skip_item(request, slug: str, assignment_id: int):
    """Pass on the open item (with a reason; broken / unsafe / other also flag it), then show
    the next one."""
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=ANNOTATOR)
    assignment = get_assignment_for_annotator_or_404(user=request.user, pk=assignment_id, campaign=campaign)
    if assignment.campaign_id != campaign.pk:
        return redirect("label_next", slug=slug)
    form = SkipForm(request.POST)
    if not form.is_valid():
        context = _task_context(request, campaign, assignment=assignment, error=f"Not skipped. {form.error_text()}")
        return _render(request, context, status=422)
    try:
        skip_assignment(
            assignment_id=assignment.pk,
            annotator=request.user,
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["note"],
        )
    except SkipRejected as exc:
        return _render(request, _task_context(request, campaign, assignment=assignment, error=str(exc)), status=409)
    nxt = claim_next_assignment(campaign=campaign, annotator=request.user)
    if not request.htmx:
        return redirect("label_next", slug=slug)
    notice = f"Skipped item {assignment.instance.annotator_reference}."
    return _render(request, _task_context(request, campaign, assignment=nxt, notice=notice))


@never_cache
@annotator_login_required
@require_http_methods(["GET"])
def recent_items(request, slug: str):
    """The annotator's latest submissions in this campaign, each with a link to change it."""
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=ANNOTATOR)
    return render(
        request,
        "annotate/recent.html",
        {
            "campaign": campaign,
            "submissions": recent_submissions(campaign=campaign, annotator=request.user),
            "editable": submitted_answers_are_editable(campaign),
        },
    )


@never_cache
@annotator_login_required
@require_http_methods(["GET"])
def edit_item(request, slug: str, assignment_id: int):
    """A submitted item again, with the stored answers as the annotator saw them; submitting
    it changes the one stored label (while the campaign is open)."""
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=ANNOTATOR)
    assignment = get_assignment_for_annotator_or_404(user=request.user, pk=assignment_id, campaign=campaign)
    annotation = getattr(assignment, "annotation", None)
    if assignment.campaign_id != campaign.pk or annotation is None:
        return redirect("label_next", slug=slug)
    schema = schema_for_assignment(campaign=campaign, assignment=assignment)
    responses = _displayed_responses(assignment)  # records row order first if none was recorded
    shown = to_display_slots(
        schema=schema, answers=answers_of(annotation.answers.all(), schema), display_order=assignment.display_order
    )
    form = _form_for(
        campaign=campaign, assignment=assignment, n_responses=len(responses),
        initial=initial_from_answers(schema, shown),
    )
    notice = (
        "You are changing an answer you submitted."
        if submitted_answers_are_editable(campaign)
        else "This campaign is closed: submitted answers can no longer be changed."
    )
    return _render(request, _task_context(request, campaign, assignment=assignment, form=form, notice=notice))
