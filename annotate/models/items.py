"""The items to label, their responses, and each item's place in the human queue."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q


class Instance(models.Model):
    """One item to label: a conversation (message list) and its responses (one or more)."""

    campaign = models.ForeignKey("annotate.Campaign", on_delete=models.CASCADE, related_name="instances")
    external_id = models.CharField(max_length=200)
    # [{"role": "system"|"user"|"assistant", "content": str}, ...] ending with a user turn.
    messages = models.JSONField()
    metadata = models.JSONField(default=dict, blank=True)
    import_job = models.ForeignKey(
        "annotate.JobRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "external_id"], name="instance_external_id_unique_per_campaign"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign.slug}/{self.external_id}"

    @property
    def annotator_reference(self) -> str:
        """How the labelling pages name the item to its annotators: by its database id, never
        by the import's id, which may give a check item away (e.g. "gold-3")."""
        return f"#{self.pk}"

    @property
    def prompt_text(self) -> str:
        """The last user turn: what the responses answer."""
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return message.get("content", "")
        return ""


class Response(models.Model):
    """One response of an instance; ``position`` is its place in the source row (0 first)."""

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="responses")
    position = models.PositiveSmallIntegerField(help_text="0 is the first response of the row; display order is per assignment.")
    model_name = models.CharField(max_length=200, default="unknown")
    text = models.TextField()

    class Meta:
        ordering = ["instance_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["instance", "position"], name="response_unique_position"),
        ]

    def __str__(self) -> str:
        return f"{self.instance} [{self.position}]"




class QueueItemKind(models.TextChoices):
    REGULAR = "regular", "Regular"
    GOLD = "gold", "Gold (expected answer known)"
    ATTENTION = "attention", "Attention check"
    QUALIFICATION = "qualification", "Qualification test"


class Route(models.TextChoices):
    UNROUTED = "unrouted", "Not routed yet"
    HUMAN = "human", "Human"
    LLM = "llm", "LLM"


class QueueItem(models.Model):
    """An instance's place in the human queue: how many annotators it needs and has.

    ``slots_taken`` counts live assignments (open leases and submissions). A claim takes a
    slot with one conditional UPDATE (``slots_taken < required_overlap``) on a row found
    through the partial index of open items, so its cost does not grow with the campaign;
    an expired lease gives its slot back (``annotate.services.assignments``).
    Items routed to the LLM are never handed to humans.
    """

    campaign = models.ForeignKey("annotate.Campaign", on_delete=models.CASCADE, related_name="queue_items")
    instance = models.OneToOneField(Instance, on_delete=models.CASCADE, related_name="queue_item")
    kind = models.CharField(max_length=16, choices=QueueItemKind.choices, default=QueueItemKind.REGULAR)
    route = models.CharField(max_length=16, choices=Route.choices, default=Route.UNROUTED)
    required_overlap = models.PositiveSmallIntegerField()
    slots_taken = models.PositiveSmallIntegerField(default=0)
    priority = models.IntegerField(default=0, help_text="Higher is handed out first.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(slots_taken__lte=F("required_overlap")),
                name="queue_item_never_over_its_overlap",
            ),
        ]
        indexes = [
            models.Index(
                F("campaign"),
                F("priority").desc(),
                F("slots_taken").desc(),
                F("id"),
                condition=Q(slots_taken__lt=F("required_overlap")) & ~Q(route="llm"),
                name="queue_item_open_for_humans",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instance} ({self.slots_taken}/{self.required_overlap}, {self.route})"
