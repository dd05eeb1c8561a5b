"""A PM's final label for an instance whose annotators disagree (issue 17).

Recorded beside the annotators' labels, never over them: an :class:`Adjudication` row per
decision, the newest one ``is_current`` (one per instance, a partial unique constraint), the
earlier ones kept as history. Every aggregation policy returns it with provenance
``adjudicated``."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from annotate.models.labels import PREFERENCE_LIMIT


class Adjudication(models.Model):
    campaign = models.ForeignKey("annotate.Campaign", on_delete=models.CASCADE, related_name="adjudications")
    instance = models.ForeignKey("annotate.Instance", on_delete=models.CASCADE, related_name="adjudications")
    # On the campaign's primary pairwise scale: negative favours the response at position 0.
    overall_preference = models.SmallIntegerField()
    note = models.TextField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(auto_now_add=True)
    is_current = models.BooleanField(default=True)

    class Meta:
        ordering = ["-decided_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["instance"], condition=Q(is_current=True), name="adjudication_one_current_per_instance"
            ),
            models.CheckConstraint(
                condition=Q(overall_preference__gte=-PREFERENCE_LIMIT, overall_preference__lte=PREFERENCE_LIMIT),
                name="adjudication_preference_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instance}: {self.overall_preference} by {self.decided_by}"
