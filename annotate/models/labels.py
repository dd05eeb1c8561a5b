"""Labels: one Annotation per (instance, who), its answers as rows, and its provenance."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

# The widest Likert scale the database admits for the denormalised overall preference; a
# question's own bounds are checked by ``annotate.services.task_schemas``.
PREFERENCE_LIMIT = 9


class AnnotationSource(models.TextChoices):
    HUMAN = "human", "Human (this platform)"
    IMPORTED = "imported", "Imported (an external annotator)"
    LLM = "llm", "LLM"


class Annotation(models.Model):
    """One label of one instance, by a human here, an imported annotator or an LLM annotator."""

    campaign = models.ForeignKey("annotate.Campaign", on_delete=models.CASCADE, related_name="annotations")
    instance = models.ForeignKey("annotate.Instance", on_delete=models.CASCADE, related_name="annotations")
    source = models.CharField(max_length=8, choices=AnnotationSource.choices)
    # Which questions were answered (the schema version), under which guidelines.
    task_schema = models.ForeignKey(
        "annotate.TaskSchema", null=True, blank=True, on_delete=models.PROTECT, related_name="annotations"
    )
    guidelines = models.ForeignKey(
        "annotate.GuidelineVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="annotations"
    )
    # Human provenance.
    assignment = models.OneToOneField(
        "annotate.Assignment", null=True, blank=True, on_delete=models.PROTECT, related_name="annotation"
    )
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="annotations",
    )
    # Imported provenance: the source dataset's (pseudonymous) annotator id.
    external_annotator = models.CharField(max_length=200, blank=True)
    # Annotator pool (e.g. MultiPref's "normal" / "expert"); blank for the default pool.
    pool = models.CharField(max_length=40, blank=True)
    # LLM provenance.
    model_name = models.CharField(max_length=200, blank=True)
    prompt_version = models.CharField(max_length=64, blank=True)
    raw_output = models.JSONField(default=dict, blank=True)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    job = models.ForeignKey(
        "annotate.JobRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="annotations"
    )
    # Denormalised from the answers: the primary pairwise question's value (by position).
    overall_preference = models.SmallIntegerField(null=True, blank=True)
    # An LLM annotator's confidence in its verdict (0..1); humans answer confidence questions.
    confidence = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    time_spent_seconds = models.FloatField(null=True, blank=True)
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
                | Q(overall_preference__gte=-PREFERENCE_LIMIT, overall_preference__lte=PREFERENCE_LIMIT),
                name="annotation_preference_in_range",
            ),
            models.CheckConstraint(
                condition=Q(source=AnnotationSource.HUMAN, annotator__isnull=False)
                | Q(source=AnnotationSource.IMPORTED, annotator__isnull=True)
                & ~Q(external_annotator="")
                | Q(source=AnnotationSource.LLM, annotator__isnull=True) & ~Q(model_name=""),
                name="annotation_provenance_matches_source",
            ),
            models.UniqueConstraint(
                fields=["instance", "annotator"],
                condition=Q(source=AnnotationSource.HUMAN),
                name="annotation_one_human_label_per_annotator",
            ),
            models.UniqueConstraint(
                fields=["instance", "external_annotator", "pool"],
                condition=Q(source=AnnotationSource.IMPORTED),
                name="annotation_one_imported_label_per_annotator",
            ),
            models.UniqueConstraint(
                fields=["instance", "model_name", "prompt_version"],
                condition=Q(source=AnnotationSource.LLM),
                name="annotation_one_llm_label_per_model_and_prompt",
            ),
        ]
        indexes = [models.Index(fields=["campaign", "source"])]

    def __str__(self) -> str:
        who = {
            AnnotationSource.HUMAN: self.annotator,
            AnnotationSource.IMPORTED: self.external_annotator,
        }.get(self.source, self.model_name)
        return f"{self.instance} by {who}"


class AnswerValue(models.Model):
    """One answer to one question: a chosen option (with its value), or text.

    ``response_position`` is set for per-response questions (which response, by position in
    the row) and NULL for questions about the pair. A multiple-choice answer is one row per
    ticked option.
    """

    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey("annotate.Question", on_delete=models.PROTECT, related_name="answers")
    response_position = models.PositiveSmallIntegerField(null=True, blank=True)
    option = models.ForeignKey(
        "annotate.QuestionOption", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The option's value, denormalised so that agreement and exports are plain queries.
    value = models.SmallIntegerField(null=True, blank=True)
    text = models.TextField(blank=True)
    # True for a ticked option of a multiple-choice question (several rows may answer it);
    # every other question has at most one row per (annotation, response position).
    multiple = models.BooleanField(default=False)

    class Meta:
        ordering = ["annotation_id", "question_id", "response_position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(option__isnull=False) | ~Q(text=""), name="answer_has_an_option_or_text"
            ),
            models.UniqueConstraint(
                fields=["annotation", "question", "option"],
                condition=Q(response_position__isnull=True, option__isnull=False),
                name="answer_one_option_once_for_the_pair",
            ),
            models.UniqueConstraint(
                fields=["annotation", "question", "response_position", "option"],
                condition=Q(response_position__isnull=False, option__isnull=False),
                name="answer_one_option_once_per_response",
            ),
            models.UniqueConstraint(
                fields=["annotation", "question"],
                condition=Q(response_position__isnull=True, multiple=False),
                name="answer_one_for_the_pair",
            ),
            models.UniqueConstraint(
                fields=["annotation", "question", "response_position"],
                condition=Q(response_position__isnull=False, multiple=False),
                name="answer_one_per_response",
            ),
            models.CheckConstraint(
                condition=Q(multiple=False) | Q(option__isnull=False), name="answer_multiple_only_for_options"
            ),
        ]
        indexes = [models.Index(fields=["question", "response_position"])]

    def __str__(self) -> str:
        where = "" if self.response_position is None else f"[{self.response_position}]"
        return f"{self.question.key}{where}={self.value if self.option_id else self.text[:30]!r}"
