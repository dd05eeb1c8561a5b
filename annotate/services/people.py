"""A campaign's people: changing a member's role or pool, deactivating and reactivating them."""

from __future__ import annotations

from django.db import transaction

from annotate.models import Campaign, CampaignMembership, CampaignRole
from annotate.services.invites import pool_choices_of


class MembershipChangeRefused(Exception):
    """The change would break a rule (e.g. leave no active project manager); nothing changed."""


def _other_active_managers(*, membership: CampaignMembership) -> int:
    return (
        CampaignMembership.objects.filter(
            campaign_id=membership.campaign_id, role=CampaignRole.PROJECT_MANAGER, is_active=True
        )
        .exclude(pk=membership.pk)
        .count()
    )


def _lock_campaign(campaign_id: int) -> None:
    # The campaign row is locked: two PMs demoting each other at once never leave it with none.
    Campaign.objects.select_for_update().filter(pk=campaign_id).first()


def change_membership(*, membership: CampaignMembership, role: str, pool: str) -> CampaignMembership:
    """Give the member ``role`` and ``pool``. Refused, changing nothing, when the member already
    holds ``role`` in another membership row, when ``pool`` is not one of the campaign's, or
    when it would leave the campaign without an active project manager."""
    if role not in CampaignRole.values:
        raise MembershipChangeRefused(f"Unknown role {role!r}.")
    with transaction.atomic():
        _lock_campaign(membership.campaign_id)
        membership = CampaignMembership.objects.select_related("campaign", "user").get(pk=membership.pk)
        if pool not in pool_choices_of(membership.campaign):
            raise MembershipChangeRefused(f"Pool {pool!r} is not one of this campaign's pools.")
        if role != membership.role:
            if CampaignMembership.objects.filter(
                campaign_id=membership.campaign_id, user_id=membership.user_id, role=role
            ).exists():
                raise MembershipChangeRefused(
                    f"{membership.user.get_username()} already has the role {CampaignRole(role).label.lower()} here."
                )
            if (
                membership.role == CampaignRole.PROJECT_MANAGER
                and membership.is_active
                and not _other_active_managers(membership=membership)
            ):
                raise MembershipChangeRefused(
                    "This is the campaign's last active project manager; make someone else one first."
                )
        membership.role = role
        membership.pool = pool
        membership.save(update_fields=["role", "pool"])
    return membership


def set_membership_active(
    *, membership: CampaignMembership, is_active: bool, reason: str = ""
) -> CampaignMembership:
    """Deactivate (the membership then grants nothing) or reactivate a member. Deactivating
    the last active project manager is refused. Reactivating clears a suspension reason."""
    with transaction.atomic():
        _lock_campaign(membership.campaign_id)
        membership = CampaignMembership.objects.select_related("campaign", "user").get(pk=membership.pk)
        if (
            not is_active
            and membership.is_active
            and membership.role == CampaignRole.PROJECT_MANAGER
            and not _other_active_managers(membership=membership)
        ):
            raise MembershipChangeRefused(
                "This is the campaign's last active project manager; make someone else one first."
            )
        membership.is_active = is_active
        membership.suspended_reason = "" if is_active else reason[:300]
        membership.save(update_fields=["is_active", "suspended_reason"])
    return membership
