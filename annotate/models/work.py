"""Who is labelling what: an assignment is one instance handed to one annotator."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class AssignmentStatus(models.TextChoices):
    LEASED = "leased", "Leased"
    SUBMITTED = "submitted", "Submitted"
    EXPIRED = "expired", "Expired"
    SKIPPED = "skipped", "Skipped"


class SkipReason(models.TextChoices):
    CANNOT_JUDGE = "cannot_judge", "I can't judge this one"
    BROKEN = "broken", "Flag: broken (missing or garbled text)"
    UNSAFE = "unsafe", "Flag: unsafe content"
    OTHER = "other", "Flag: other problem"


class Assignment(models.Model):
    """An instance handed to one annotator. At most one per (instance, annotator).

    While LEASED it holds one of its queue item's slots. A lease past ``lease_expires_at``
    still belongs to its annotator until a claim sweeps it to EXPIRED (its slot returns to
    the queue); a late submission is still accepted if a slot is free then. SKIPPED gives
    the slot back for good: the annotator is not asked again.
    """

    campaign = models.ForeignKey("annotate.Campaign", on_delete=models.CASCADE, related_name="assignments")
    instance = models.ForeignKey("annotate.Instance", on_delete=models.CASCADE, related_name="assignments")
    queue_item = models.ForeignKey(
        "annotate.QueueItem", on_delete=models.CASCADE, related_name="assignments"
    )
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments"
    )
    status = models.CharField(
        max_length=16, choices=AssignmentStatus.choices, default=AssignmentStatus.LEASED
    )
    leased_at = models.DateTimeField()
    lease_expires_at = models.DateTimeField()
    # Server-side times: first shown, and submitted (not the browser's clock).
    opened_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    # Response positions in the order this annotator sees them (e.g. [1, 0]: the row's second
    # response is shown as A). Answers are mapped back to positions before they are stored.
    display_order = models.JSONField(default=list, blank=True)
    skip_reason = models.CharField(max_length=16, choices=SkipReason.choices, blank=True)
    skip_note = models.CharField(max_length=500, blank=True)
    # The annotator's unsubmitted answer, autosaved from the form (field name → value), so a
    # reload, a lost session or another device restores it. Not a label: cleared on submit.
    draft = models.JSONField(default=dict, blank=True)
    draft_saved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "annotator"], name="assignment_one_per_instance_and_annotator"
            ),
            models.CheckConstraint(
                condition=Q(status="skipped") | Q(skip_reason=""),
                name="assignment_skip_reason_only_when_skipped",
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "annotator", "status"]),
            models.Index(fields=["instance", "status"]),
            models.Index(
                fields=["campaign", "lease_expires_at"],
                condition=Q(status="leased"),
                name="assignment_open_leases",
            ),
            # The annotator's latest submissions, newest first: whether a check item is due
            # is read off the last few, at a cost that does not grow with their history.
            models.Index(
                fields=["campaign", "annotator", "-submitted_at"],
                condition=Q(status="submitted"),
                name="assignment_recent_submissions",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instance} → {self.annotator} ({self.status})"

    @property
    def is_flagged(self) -> bool:
        return self.skip_reason in (SkipReason.BROKEN, SkipReason.UNSAFE, SkipReason.OTHER)
