"""Object-level access: every view resolves its objects through these helpers.

Not visible → 404 (no leaking that a campaign exists); visible but the wrong role → 403.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from annotate.models import Assignment, Campaign, CampaignRole, JobRun
from annotate.selectors import annotator_pool_of_assignment, campaign_and_roles, roles_in_campaign
from annotate.selectors_queue import own_assignment_with_pool


def get_campaign_for_role_or_404(*, user, slug: str, roles: set[str]) -> Campaign:
    campaign, held = campaign_and_roles(user=user, slug=slug)
    if campaign is None:
        raise Http404("No such campaign.")
    if not roles & held:
        raise PermissionDenied("Your role in this campaign does not allow this.")
    return campaign


def get_assignment_for_annotator_or_404(*, user, pk: int, campaign: Campaign | None = None) -> Assignment:
    """The user's own assignment ``pk``, with its instance and campaign. ``campaign``: the
    campaign the caller has read already (the one in the URL); an assignment of that campaign
    then carries that object instead of a second copy read here (so what was read on it once
    per request, e.g. the quality settings, stays read). One of another campaign is returned
    as well, its campaign read when used: callers compare ``campaign_id``.

    The annotator's pool in the assignment's campaign rides along (``annotator_pool``, a
    subquery), so a submit can hand this read to ``submit_annotation`` instead of reading the
    assignment again."""
    if campaign is None:
        assignment = (
            Assignment.objects.filter(pk=pk, annotator=user)
            .annotate(annotator_pool=annotator_pool_of_assignment())
            .select_related("campaign", "instance")
            .first()
        )
    else:  # the workspace's submit: one fixed statement
        assignment = own_assignment_with_pool(annotator=user, pk=pk)
        if assignment is not None and assignment.campaign_id == campaign.pk:
            assignment.campaign = campaign
    if assignment is None:
        raise Http404("No such assignment.")
    return assignment


def get_job_for_user_or_404(*, user, pk: int) -> JobRun:
    """Jobs are visible to their campaign's project managers and to whoever started them."""
    job = JobRun.objects.select_related("campaign").filter(pk=pk).first()
    if job is None:
        raise Http404("No such job.")
    if user.is_superuser or job.created_by_id == user.pk:
        return job
    if job.campaign is not None and CampaignRole.PROJECT_MANAGER in roles_in_campaign(
        user=user, campaign=job.campaign
    ):
        return job
    raise Http404("No such job.")


def can_create_campaigns(user) -> bool:
    """Site admins and holders of ``annotate.add_campaign`` start campaigns (and become their PM)."""
    return user.is_authenticated and (user.is_superuser or user.has_perm("annotate.add_campaign"))


def get_membership_of_campaign_or_404(*, campaign: Campaign, membership_id: int):
    """A membership of this campaign only: a PM never reaches another campaign's people."""
    from annotate.selectors_people import get_membership_of_campaign

    membership = get_membership_of_campaign(campaign=campaign, membership_id=membership_id)
    if membership is None:
        raise Http404("No such member.")
    return membership


def get_invite_of_campaign_or_404(*, campaign: Campaign, invite_id: int):
    from annotate.selectors_people import get_invite_of_campaign

    invite = get_invite_of_campaign(campaign=campaign, invite_id=invite_id)
    if invite is None:
        raise Http404("No such invite.")
    return invite
