"""Invite links: a project manager hands out a link that gives one role (and pool) once."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from annotate.models.campaigns import CampaignRole


class InviteState(models.TextChoices):
    OPEN = "open", "Open"
    USED = "used", "Used"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class Invite(models.Model):
    """A single-use, expiring, revocable link to join ``campaign`` as ``role`` in ``pool``.

    Only the SHA-256 of the token is stored: the full link is shown once, when it is made.
    Accepting sets ``used_at`` with one conditional UPDATE (``used_at IS NULL``), so two
    concurrent accepts use it once.
    """

    campaign = models.ForeignKey("annotate.Campaign", on_delete=models.CASCADE, related_name="invites")
    role = models.CharField(max_length=24, choices=CampaignRole.choices)
    # Annotator pool given on joining; blank for the default pool.
    pool = models.CharField(max_length=40, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    email = models.EmailField(blank=True)
    expires_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(used_at__isnull=True) | Q(revoked_at__isnull=True),
                name="invite_never_both_used_and_revoked",
            ),
        ]

    def __str__(self) -> str:
        return f"invite to {self.campaign} as {self.role}"

    def state_at(self, moment) -> InviteState:
        if self.used_at is not None:
            return InviteState.USED
        if self.revoked_at is not None:
            return InviteState.REVOKED
        if self.expires_at <= moment:
            return InviteState.EXPIRED
        return InviteState.OPEN
