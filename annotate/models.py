"""Campaigns, the items in them, who labels what, and every label with its provenance.

Conventions used throughout:
- A pairwise preference is an integer from -2 to 2 on the 5-point scale
  ``A≫B (-2), A>B (-1), tie (0), B>A (1), B≫A (2)``; negative favours response A
  (``position == 0``), as in HelpSteer2-Preference where negative favours response 1.
- Ratings are HelpSteer-style integers keyed by response position then attribute:
  ``{"0": {"helpfulness": 3, ...}, "1": {...}}``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

PREFERENCE_MIN, PREFERENCE_MAX = -2, 2

DEFAULT_PAIRWISE_ASPECTS = ["helpfulness", "truthfulness", "harmlessness"]
DEFAULT_RATING_ATTRIBUTES = ["helpfulness", "correctness", "coherence", "complexity", "verbosity"]


def default_pairwise_aspects() -> list[str]:
    return list(DEFAULT_PAIRWISE_ASPECTS)


def default_rating_scales() -> list[dict]:
    return [{"name": name, "min": 0, "max": 4} for name in DEFAULT_RATING_ATTRIBUTES]


class TaskKind(models.TextChoices):
    PAIRWISE = "pairwise", "Pairwise preference"
    RATING = "rating", "Multi-attribute rating"
    BOTH = "both", "Pairwise preference and rating"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Completed"
    ARCHIVED = "archived", "Archived"


class Campaign(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    task_kind = models.CharField(max_length=16, choices=TaskKind.choices, default=TaskKind.PAIRWISE)
    # Aspect keys asked per pairwise item besides the overall preference, e.g. "helpfulness".
    pairwise_aspects = models.JSONField(default=default_pairwise_aspects, blank=True)
    # Rating scales: [{"name": "helpfulness", "min": 0, "max": 4}, ...]
    rating_scales = models.JSONField(default=default_rating_scales, blank=True)
    require_justification = models.BooleanField(default=True)
    guidelines_markdown = models.TextField(blank=True)
    guidelines_version = models.PositiveIntegerField(default=1)
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
    status = models.CharField(
        max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.ACTIVE
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
    def asks_pairwise(self) -> bool:
        return self.task_kind in (TaskKind.PAIRWISE, TaskKind.BOTH)

    @property
    def asks_ratings(self) -> bool:
        return self.task_kind in (TaskKind.RATING, TaskKind.BOTH)


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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "user", "role"], name="membership_unique_role_per_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} as {self.role} in {self.campaign}"


class JobKind(models.TextChoices):
    IMPORT = "import", "Import"
    LLM_ANNOTATION = "llm_annotation", "LLM annotation"
    EXPORT = "export", "Export"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class JobRun(models.Model):
    """One long job (import, LLM annotation, export, ...): its state, progress and outcome.

    A worker claims the row QUEUED→RUNNING with a conditional UPDATE, so a redelivered
    message never runs the job twice at once.
    """

    kind = models.CharField(max_length=32, choices=JobKind.choices)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    params = models.JSONField(default=dict, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    message = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    # Structured failure details a UI can list, e.g. import row errors.
    error_details = models.JSONField(default=list, blank=True)
    result = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["campaign", "kind", "status"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)

    @property
    def progress_percent(self) -> int | None:
        if not self.progress_total:
            return None
        return min(100, round(100 * self.progress_done / self.progress_total))


class ImportUpload(models.Model):
    """An uploaded file waiting for (or kept after) its import job.

    Stored in the database so that a worker on another machine can read it without a
    shared filesystem.
    """

    job = models.OneToOneField(JobRun, on_delete=models.CASCADE, related_name="upload")
    filename = models.CharField(max_length=255)
    file_format = models.CharField(max_length=32)
    content = models.BinaryField()
    size_bytes = models.PositiveBigIntegerField()


class Instance(models.Model):
    """One item to label: a conversation (message list) and two or more responses."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="instances")
    external_id = models.CharField(max_length=200)
    # [{"role": "system"|"user"|"assistant", "content": str}, ...] ending with a user turn.
    messages = models.JSONField()
    metadata = models.JSONField(default=dict, blank=True)
    import_job = models.ForeignKey(
        JobRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
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
    def prompt_text(self) -> str:
        """The last user turn: what the responses answer."""
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return message.get("content", "")
        return ""


class Response(models.Model):
    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="responses")
    position = models.PositiveSmallIntegerField(help_text="0 is shown as A, 1 as B, ...")
    model_name = models.CharField(max_length=200, default="unknown")
    text = models.TextField()

    class Meta:
        ordering = ["instance_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["instance", "position"], name="response_unique_position"),
        ]

    def __str__(self) -> str:
        return f"{self.instance} [{self.position}]"


class AssignmentStatus(models.TextChoices):
    LEASED = "leased", "Leased"
    SUBMITTED = "submitted", "Submitted"
    EXPIRED = "expired", "Expired"


class Assignment(models.Model):
    """An instance handed to one annotator. At most one per (instance, annotator).

    A LEASED assignment past ``lease_expires_at`` still belongs to its annotator until
    another claim needs the slot and marks it EXPIRED.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="assignments")
    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="assignments")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments"
    )
    status = models.CharField(
        max_length=16, choices=AssignmentStatus.choices, default=AssignmentStatus.LEASED
    )
    leased_at = models.DateTimeField()
    lease_expires_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    # The annotator's unsubmitted answer, autosaved from the form (field name → value), so a
    # reload, a lost session or another device restores it. Not a label: cleared on submit.
    draft = models.JSONField(default=dict, blank=True)
    draft_saved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "annotator"], name="assignment_one_per_instance_and_annotator"
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "annotator", "status"]),
            models.Index(fields=["instance", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.instance} → {self.annotator} ({self.status})"


class AnnotationSource(models.TextChoices):
    HUMAN = "human", "Human"
    LLM = "llm", "LLM"


class Annotation(models.Model):
    """One label of one instance, by a human or by an LLM annotator, with its provenance."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="annotations")
    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="annotations")
    source = models.CharField(max_length=8, choices=AnnotationSource.choices)
    # Human provenance.
    assignment = models.OneToOneField(
        Assignment, null=True, blank=True, on_delete=models.PROTECT, related_name="annotation"
    )
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="annotations",
    )
    # LLM provenance.
    model_name = models.CharField(max_length=200, blank=True)
    prompt_version = models.CharField(max_length=64, blank=True)
    raw_output = models.JSONField(default=dict, blank=True)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    job = models.ForeignKey(
        JobRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="annotations"
    )
    # The label.
    overall_preference = models.SmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(PREFERENCE_MIN), MaxValueValidator(PREFERENCE_MAX)],
    )
    aspect_preferences = models.JSONField(default=dict, blank=True)
    ratings = models.JSONField(default=dict, blank=True)
    justification = models.TextField(blank=True)
    confidence = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    time_spent_seconds = models.FloatField(null=True, blank=True)
    guidelines_version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    # An annotator may change a submitted answer (until the campaign closes): the row is
    # updated in place, counted once, and ``revision`` says how many versions it has had.
    revision = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(overall_preference__isnull=True)
                | Q(overall_preference__gte=PREFERENCE_MIN, overall_preference__lte=PREFERENCE_MAX),
                name="annotation_preference_in_range",
            ),
            models.CheckConstraint(
                condition=Q(source=AnnotationSource.HUMAN, annotator__isnull=False)
                | Q(source=AnnotationSource.LLM, annotator__isnull=True) & ~Q(model_name=""),
                name="annotation_provenance_matches_source",
            ),
            models.UniqueConstraint(
                fields=["instance", "annotator"],
                condition=Q(source=AnnotationSource.HUMAN),
                name="annotation_one_human_label_per_annotator",
            ),
            models.UniqueConstraint(
                fields=["instance", "model_name", "prompt_version"],
                condition=Q(source=AnnotationSource.LLM),
                name="annotation_one_llm_label_per_model_and_prompt",
            ),
        ]
        indexes = [models.Index(fields=["campaign", "source"])]

    def __str__(self) -> str:
        who = self.annotator if self.source == AnnotationSource.HUMAN else self.model_name
        return f"{self.instance} by {who}"
