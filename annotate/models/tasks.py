"""What a campaign asks: a versioned task schema of questions, each with its own scale.

A question's kind says how it is answered and its target what it is about:
- ``pairwise``: one option of a symmetric Likert scale about the pair (negative favours the
  response at position 0), e.g. MultiPref's 5 points or HelpSteer2-Preference's -3..3 with
  an optional "neither is valid" option (value NULL);
- ``rating``: one option of a scale per response (HelpSteer2's 0–4, with anchors);
- ``choices``: any number of ticked options (MultiPref's reasons), for the pair or per response;
- ``confidence``: one option of a confidence scale;
- ``text``: free text (a justification, a statement, an elaboration).
Options carry the integer ``value`` stored for analysis and a ``code`` that exports use.
The rules a schema must follow are checked in ``annotate.services.task_schemas``.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class QuestionKind(models.TextChoices):
    PAIRWISE = "pairwise", "Pairwise preference (Likert)"
    RATING = "rating", "Rating per response"
    CHOICES = "choices", "Multiple choice (tick any)"
    CONFIDENCE = "confidence", "Confidence"
    TEXT = "text", "Free text"


class QuestionTarget(models.TextChoices):
    PAIR = "pair", "The pair of responses"
    EACH_RESPONSE = "each_response", "Each response"


class TaskSchema(models.Model):
    """One version of a campaign's questions. Never edited once an annotation uses it."""

    campaign = models.ForeignKey("annotate.Campaign", on_delete=models.CASCADE, related_name="task_schemas")
    version = models.PositiveIntegerField()
    template = models.CharField(max_length=40, blank=True, help_text="The template it started from.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["campaign_id", "version"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "version"], name="task_schema_unique_version"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} task v{self.version}"

    @property
    def template_label(self) -> str:
        from annotate.task_templates import TEMPLATES  # the registry imports these models

        template = TEMPLATES.get(self.template)
        return f"{template.label if template else self.template or 'Custom'} (v{self.version})"


class Question(models.Model):
    schema = models.ForeignKey(TaskSchema, on_delete=models.CASCADE, related_name="questions")
    key = models.SlugField(max_length=60)
    kind = models.CharField(max_length=16, choices=QuestionKind.choices)
    target = models.CharField(max_length=16, choices=QuestionTarget.choices, default=QuestionTarget.PAIR)
    label = models.CharField(max_length=200)
    help_text = models.TextField(blank=True)
    required = models.BooleanField(default=True)
    order = models.PositiveSmallIntegerField()
    # Questions that belong together on screen (e.g. an aspect's preference, confidence, reasons).
    group = models.CharField(max_length=60, blank=True)
    # The pairwise question whose answer is the overall preference (at most one per schema).
    primary = models.BooleanField(default=False)
    max_length = models.PositiveIntegerField(null=True, blank=True, help_text="For text questions.")

    class Meta:
        ordering = ["schema_id", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["schema", "key"], name="question_unique_key_per_schema"),
            models.UniqueConstraint(
                fields=["schema"], condition=Q(primary=True), name="question_one_primary_per_schema"
            ),
            models.CheckConstraint(
                condition=Q(primary=False) | Q(kind=QuestionKind.PAIRWISE, target=QuestionTarget.PAIR),
                name="question_primary_is_a_pairwise_question",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.schema}: {self.key}"

    @property
    def per_response(self) -> bool:
        return self.target == QuestionTarget.EACH_RESPONSE

    @property
    def has_options(self) -> bool:
        return self.kind != QuestionKind.TEXT


class QuestionOption(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="options")
    # The stored value (e.g. -2..2, 0..4); NULL for an option outside the scale such as
    # "neither response is valid".
    value = models.SmallIntegerField(null=True, blank=True)
    code = models.CharField(max_length=60, help_text="Stable id used by forms and exports.")
    label = models.CharField(max_length=200)
    description = models.CharField(max_length=300, blank=True, help_text="Anchor text shown with it.")
    order = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["question_id", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["question", "code"], name="option_unique_code_per_question"),
            models.UniqueConstraint(
                fields=["question", "value"],
                condition=Q(value__isnull=False),
                name="option_unique_value_per_question",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.question.key}={self.code}"
