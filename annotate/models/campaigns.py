"""Campaigns, who has which role in them, and their guidelines' versions."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Closed"
    ARCHIVED = "archived", "Archived"


class AggregationPolicy(models.TextChoices):
    """How the final label of an instance is decided (``annotate.aggregation``)."""

    STRICT_MAJORITY = "strict_majority", "Strict majority (humans, then imported, then LLMs)"
    MULTIPREF_MAJORITY = "multipref_majority", "MultiPref majority (slightly merged into clearly)"
    HELPSTEER2_PREFERENCE = "helpsteer2_preference", "HelpSteer2-Preference (mean of the 3 closest strengths)"
    HELPSTEER2_RATINGS = "helpsteer2_ratings", "HelpSteer2 (rounded mean of the 3 most agreeing ratings)"
    DAWID_SKENE = "dawid_skene", "Dawid–Skene (reliability-weighted, humans and LLMs)"


class Campaign(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    # The questions annotators answer now; earlier versions stay for the labels made under them.
    task_schema = models.ForeignKey(
        "annotate.TaskSchema", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The guidelines annotators read now; every annotation points at the version it was made under.
    guidelines = models.ForeignKey(
        "annotate.GuidelineVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    overlap = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
        help_text="How many different annotators label each instance.",
    )
    lease_minutes = models.PositiveIntegerField(
        default=30, help_text="An unsubmitted assignment returns to the queue after this long."
    )
    human_budget = models.PositiveIntegerField(
        null=True, blank=True, help_text="Most instances sent to humans; empty means no limit."
    )
    randomize_response_order = models.BooleanField(
        default=True,
        help_text="Show responses in a random order per assignment (recorded; undone before storing).",
    )
    status = models.CharField(
        max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.ACTIVE
    )
    # Set when a PM locks the campaign: no more claims, submits or edits; exports still work.
    locked_at = models.DateTimeField(null=True, blank=True)
    deadline = models.DateTimeField(null=True, blank=True, help_text="Shown to annotators and on the dashboard.")
    # Annotator pool names offered for invites and memberships, e.g. ["normal", "expert"].
    pools = models.JSONField(default=list, blank=True)
    # Names from LLM_ANNOTATORS_JSON (and "local") that may label this campaign; empty = all.
    allowed_llm_annotators = models.JSONField(default=list, blank=True)
    aggregation_policy = models.CharField(
        max_length=32, choices=AggregationPolicy.choices, default=AggregationPolicy.STRICT_MAJORITY
    )
    human_hourly_rate_usd = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="What an hour of annotator time costs, for the dashboard's cost figures.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(overlap__gte=1), name="campaign_overlap_at_least_one"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None

    @property
    def guidelines_markdown(self) -> str:
        return self.guidelines.markdown if self.guidelines_id else ""

    @property
    def guidelines_version(self) -> int | None:
        return self.guidelines.version if self.guidelines_id else None


class GuidelineVersion(models.Model):
    """One saved version of a campaign's guidelines (Markdown). Never edited in place."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="guideline_versions")
    version = models.PositiveIntegerField()
    markdown = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["campaign_id", "version"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "version"], name="guidelines_unique_version"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} guidelines v{self.version}"


class CampaignRole(models.TextChoices):
    PROJECT_MANAGER = "project_manager", "Project manager"
    ANNOTATOR = "annotator", "Annotator"
    RESEARCHER = "researcher", "Researcher"


class CampaignMembership(models.Model):
    """A user's role in one campaign. Site admins (``is_superuser``) need none."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="campaign_memberships"
    )
    role = models.CharField(max_length=24, choices=CampaignRole.choices)
    # Annotator pool, e.g. "normal" or "expert" as in MultiPref; blank for the default pool.
    pool = models.CharField(max_length=40, blank=True)
    # A deactivated (or suspended) membership grants nothing: the campaign is invisible to its user.
    is_active = models.BooleanField(default=True)
    # Why a quality rule or a PM suspended it; blank when active or simply deactivated.
    suspended_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "user", "role"], name="membership_unique_role_per_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} as {self.role} in {self.campaign}"
