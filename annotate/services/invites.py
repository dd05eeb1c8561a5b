"""Invite links: making, emailing, revoking and accepting them."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from annotate.models import Campaign, CampaignMembership, CampaignRole, Invite, InviteState

logger = logging.getLogger(__name__)

DEFAULT_INVITE_DAYS = 7
MAX_INVITE_DAYS = 90


class InviteError(Exception):
    """An invite cannot be made or accepted; the message says why, for the person at hand."""


class InviteNotUsable(InviteError):
    def __init__(self, state: str, message: str):
        super().__init__(message)
        self.state = state


NOT_USABLE_MESSAGES = {
    "unknown": "This invite link is not valid. Check that you copied all of it, or ask for a new one.",
    InviteState.USED: "This invite link has already been used. Ask the project manager for a new one.",
    InviteState.EXPIRED: "This invite link has expired. Ask the project manager for a new one.",
    InviteState.REVOKED: "This invite link was withdrawn by the project manager.",
}


def hash_invite_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class CreatedInvite:
    invite: Invite
    token: str  # shown once; only its hash is stored
    emailed: bool
    email_error: str = ""


def pool_choices_of(campaign: Campaign) -> list[str]:
    """The pools an invite or membership may name: the campaign's, or only the default ("")."""
    return ["", *[str(p) for p in campaign.pools if str(p)]]


def create_invite(
    *,
    campaign: Campaign,
    role: str,
    created_by,
    pool: str = "",
    expires_in: timedelta = timedelta(days=DEFAULT_INVITE_DAYS),
    email: str = "",
    accept_url_of=None,
) -> CreatedInvite:
    """Make a single-use invite link; email it when ``email`` is given and ``EMAIL_HOST`` is set.

    ``accept_url_of(token) -> str`` builds the absolute link for the email. A failed email
    keeps the invite (its link is still shown to the PM) and says why in ``email_error``.
    """
    if role not in CampaignRole.values:
        raise InviteError(f"Unknown role {role!r}.")
    if pool not in pool_choices_of(campaign):
        raise InviteError(f"Pool {pool!r} is not one of this campaign's pools.")
    if not timedelta(minutes=5) <= expires_in <= timedelta(days=MAX_INVITE_DAYS):
        raise InviteError(f"An invite must last between 5 minutes and {MAX_INVITE_DAYS} days.")
    token = secrets.token_urlsafe(32)
    invite = Invite.objects.create(
        campaign=campaign,
        role=role,
        pool=pool,
        token_hash=hash_invite_token(token),
        email=email,
        expires_at=timezone.now() + expires_in,
        created_by=created_by,
    )
    emailed, email_error = False, ""
    if email and settings.EMAIL_HOST and accept_url_of is not None:
        try:
            send_mail(
                subject=f"You are invited to {campaign.name} on Prefroute",
                message=(
                    f"{created_by.get_username() if created_by else 'A project manager'} invites you to "
                    f"join the campaign \"{campaign.name}\" as {CampaignRole(role).label.lower()}.\n\n"
                    f"Open this link to join (it works once, until "
                    f"{timezone.localtime(invite.expires_at):%Y-%m-%d %H:%M %Z}):\n{accept_url_of(token)}\n"
                ),
                from_email=None,
                recipient_list=[email],
            )
            emailed = True
        except Exception as exc:  # smtplib raises OSErrors and SMTPExceptions; other backends their own
            logger.warning("invite email to %s failed: %s", email, exc)
            email_error = f"The email could not be sent ({exc.__class__.__name__}); copy the link instead."
    return CreatedInvite(invite=invite, token=token, emailed=emailed, email_error=email_error)


def revoke_invite(*, invite: Invite) -> bool:
    """Withdraw an open invite. False (and nothing changes) when it was used or withdrawn."""
    # Conditional UPDATE: a revoke racing an accept leaves the invite either used or revoked.
    return bool(
        Invite.objects.filter(pk=invite.pk, used_at__isnull=True, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    )


def find_invite(*, token: str) -> Invite | None:
    if not token or len(token) > 200:
        return None
    return Invite.objects.select_related("campaign").filter(token_hash=hash_invite_token(token)).first()


def check_invite_usable(invite: Invite | None) -> Invite:
    """The invite if it can be accepted now, else :class:`InviteNotUsable` saying why."""
    if invite is None:
        raise InviteNotUsable("unknown", NOT_USABLE_MESSAGES["unknown"])
    state = invite.state_at(timezone.now())
    if state != InviteState.OPEN:
        raise InviteNotUsable(state, NOT_USABLE_MESSAGES[state])
    return invite


def accept_invite(*, token: str, user) -> CampaignMembership:
    """Use the invite ``token`` for ``user``: they get its role in its campaign, in its pool.

    Single use: the invite is claimed by one conditional UPDATE (still unused, unrevoked and
    unexpired), so of two concurrent accepts exactly one succeeds. Someone who already has
    the role keeps their membership and gets the invite's pool. A deactivated membership is
    not reactivated by an invite (a PM reactivates it on the people page): the invite is then
    refused and stays unused. Raises :class:`InviteError`.
    """
    invite = check_invite_usable(find_invite(token=token))
    # One transaction: the invite is used if and only if the membership is written.
    with transaction.atomic():
        existing = (
            CampaignMembership.objects.select_for_update()
            .filter(campaign_id=invite.campaign_id, user=user, role=invite.role)
            .first()
        )
        if existing is not None and not existing.is_active:
            raise InviteError(
                "Your membership in this campaign was deactivated; ask its project manager to reactivate it."
            )
        now = timezone.now()
        claimed = Invite.objects.filter(
            pk=invite.pk, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
        ).update(used_at=now, used_by=user)
        if claimed != 1:
            invite.refresh_from_db()
            check_invite_usable(invite)
            raise InviteNotUsable(InviteState.USED, NOT_USABLE_MESSAGES[InviteState.USED])
        # get_or_create: another invite for the same role accepted at the same moment.
        membership, created = CampaignMembership.objects.get_or_create(
            campaign_id=invite.campaign_id, user=user, role=invite.role, defaults={"pool": invite.pool}
        )
        if not created and membership.pool != invite.pool:
            membership.pool = invite.pool
            membership.save(update_fields=["pool"])
        return membership
