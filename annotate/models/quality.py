"""Quality control: expected answers of gold, attention and qualification items, each
campaign's quality settings and rules, qualification results, and the flags rules raise.

Nothing here ever changes a label: checks are scored by reading the annotator's stored
answers against the expected ones.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class GoldAnswer(models.Model):
    """The expected answer of one question on a check item (its QueueItem.kind says which
    kind of check): a value on the question's scale, accepted within ``tolerance`` (0 is
    exact, the only tolerance for a choice). ``question_key`` names the question across
    schema versions; ``response_position`` is set for per-response questions."""

    instance = models.ForeignKey("annotate.Instance", on_delete=models.CASCADE, related_name="gold_answers")
    question_key = models.SlugField(max_length=60)
    response_position = models.PositiveSmallIntegerField(null=True, blank=True)
    expected_value = models.SmallIntegerField()
    tolerance = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["instance_id", "question_key", "response_position"]
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "question_key"],
                condition=models.Q(response_position__isnull=True),
                name="gold_answer_one_per_question",
            ),
            models.UniqueConstraint(
                fields=["instance", "question_key", "response_position"],
                condition=models.Q(response_position__isnull=False),
                name="gold_answer_one_per_question_and_response",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instance}: {self.question_key}={self.expected_value}±{self.tolerance}"

    def accepts(self, value: int | None) -> bool:
        return value is not None and abs(value - self.expected_value) <= self.tolerance


class QualitySettings(models.Model):
    """A campaign's quality control: attention-check rate, the optional qualification test,
    and the rules evaluated after each submission. Empty fields switch a part off."""

    campaign = models.OneToOneField("annotate.Campaign", on_delete=models.CASCADE, related_name="quality_settings")
    attention_check_every = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(2)],
        help_text="One attention check in this many items (blank: none).",
    )
    gold_every = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(2)],
        help_text="One gold item in this many items, mixed in unannounced (blank: gold items are handed out like any other).",
    )
    qualification_pass_fraction = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Fraction of the qualification items to answer correctly (blank: no test).",
    )
    suspend_below_check_accuracy = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Suspend when accuracy on gold and attention checks falls below this (blank: never).",
    )
    suspend_after_checks = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1)], help_text="…once at least this many checks are answered."
    )
    flag_below_median_seconds = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.0)],
        help_text="Flag when the median time per item falls below this (blank: never).",
    )
    flag_after_items = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1)], help_text="…once at least this many items are timed."
    )
    fast_item_seconds = models.FloatField(
        default=3.0, validators=[MinValueValidator(0.0)], help_text="Items answered faster than this count as fast."
    )

    def __str__(self) -> str:
        return f"Quality settings of {self.campaign}"


class QualificationResult(models.Model):
    """An annotator's qualification test, decided once they have answered every item of it."""

    campaign = models.ForeignKey("annotate.Campaign", on_delete=models.CASCADE, related_name="qualification_results")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    correct = models.PositiveIntegerField()
    total = models.PositiveIntegerField()
    pass_fraction = models.FloatField()
    passed = models.BooleanField()
    decided_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "annotator"], name="qualification_result_once_per_annotator"),
        ]

    def __str__(self) -> str:
        return f"{self.annotator} {'passed' if self.passed else 'failed'} ({self.correct}/{self.total})"


class QualityRule(models.TextChoices):
    CHECK_ACCURACY = "check_accuracy", "Accuracy on checks below the threshold"
    MEDIAN_TIME = "median_time", "Median time per item below the threshold"


class QualityFlag(models.Model):
    """A rule fired for an annotator: a flag, or a suspension (their membership was made
    inactive). Lifting it (by a PM) reactivates the membership; a lifted rule does not fire
    again for that annotator, so the PM's decision stands."""

    campaign = models.ForeignKey("annotate.Campaign", on_delete=models.CASCADE, related_name="quality_flags")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    rule = models.CharField(max_length=24, choices=QualityRule.choices)
    suspended = models.BooleanField(default=False)
    detail = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "annotator", "rule"], name="quality_flag_once_per_rule"),
        ]

    def __str__(self) -> str:
        return f"{self.annotator}: {self.rule}{' (lifted)' if self.lifted_at else ''}"
