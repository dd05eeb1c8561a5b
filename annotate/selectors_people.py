"""Reads for the people page: a campaign's members with their work, and its invites."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, IntegerField, Max, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from annotate.models import (
    Annotation,
    AnnotationSource,
    Assignment,
    Campaign,
    CampaignMembership,
    Invite,
)


@dataclass(frozen=True)
class MemberRow:
    membership_id: int
    user_id: int
    username: str
    role: str
    role_label: str
    pool: str
    is_active: bool
    suspended_reason: str
    labels: int  # human labels this user made in the campaign
    last_activity: datetime | None  # latest claim or label (first submission or change)


def list_campaign_members(*, campaign: Campaign) -> list[MemberRow]:
    """Every membership of ``campaign`` (active or not), with each user's labels and last
    activity in this campaign only: one query."""
    labels_of = (
        Annotation.objects.filter(campaign=campaign, source=AnnotationSource.HUMAN, annotator=OuterRef("user_id"))
        .values("annotator")
        .annotate(n=Count("id"))
        .values("n")
    )
    last_label_of = (
        Annotation.objects.filter(campaign=campaign, source=AnnotationSource.HUMAN, annotator=OuterRef("user_id"))
        .values("annotator")
        .annotate(last=Max(Coalesce("updated_at", "created_at")))
        .values("last")
    )
    last_claim_of = (
        Assignment.objects.filter(campaign=campaign, annotator=OuterRef("user_id"))
        .values("annotator")
        .annotate(last=Max("leased_at"))
        .values("last")
    )
    rows = (
        CampaignMembership.objects.filter(campaign=campaign)
        .select_related("user")
        .annotate(
            n_labels=Coalesce(Subquery(labels_of, output_field=IntegerField()), Value(0)),
            last_label=Subquery(last_label_of),
            last_claim=Subquery(last_claim_of),
        )
        .order_by("-is_active", "role", "user__username")
    )
    return [
        MemberRow(
            membership_id=m.pk,
            user_id=m.user_id,
            username=m.user.get_username(),
            role=m.role,
            role_label=m.get_role_display(),
            pool=m.pool,
            is_active=m.is_active,
            suspended_reason=m.suspended_reason,
            labels=m.n_labels,
            last_activity=max((t for t in (m.last_label, m.last_claim) if t is not None), default=None),
        )
        for m in rows
    ]


def get_membership_of_campaign(*, campaign: Campaign, membership_id: int) -> CampaignMembership | None:
    """A membership of this campaign only: a PM never reaches another campaign's people."""
    return CampaignMembership.objects.filter(campaign=campaign, pk=membership_id).first()


@dataclass(frozen=True)
class InviteRow:
    invite_id: int
    role_label: str
    pool: str
    email: str
    state: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    used_by: str
    used_at: datetime | None
    revoked_at: datetime | None


INVITE_LIST_LIMIT = 200


def list_campaign_invites(*, campaign: Campaign, limit: int = INVITE_LIST_LIMIT) -> list[InviteRow]:
    """The campaign's most recent invites, newest first, each with its state now."""
    now = timezone.now()
    invites = Invite.objects.filter(campaign=campaign).select_related("created_by", "used_by")[:limit]
    return [
        InviteRow(
            invite_id=i.pk,
            role_label=i.get_role_display(),
            pool=i.pool,
            email=i.email,
            state=i.state_at(now),
            created_by=i.created_by.get_username() if i.created_by_id else "",
            created_at=i.created_at,
            expires_at=i.expires_at,
            used_by=i.used_by.get_username() if i.used_by_id else "",
            used_at=i.used_at,
            revoked_at=i.revoked_at,
        )
        for i in invites
    ]


def get_invite_of_campaign(*, campaign: Campaign, invite_id: int) -> Invite | None:
    return Invite.objects.filter(campaign=campaign, pk=invite_id).first()

