"""What routing stores: each run's decisions, and the features they were computed from."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class RoutingStrategy(models.TextChoices):
    ERROR_MODEL = "error-model", "Error model (default): where the LLM label is likely wrong"
    JURY_RULE = "jury-rule", "Jury rule: undecided verdicts, then jury disagreement"
    PPM = "ppm", "The paper's PPM + router (only on a proxy with headroom)"
    RANDOM = "random", "Random"


class RoutingRun(models.Model):
    """One decision set for a campaign: which items humans label and which the LLM side does.

    Re-routing after new human labels makes a new run that ``supersedes`` the previous one;
    every run is kept, so the history of decisions can be read back.
    """

    campaign = models.ForeignKey(
        "annotate.Campaign", on_delete=models.CASCADE, related_name="routing_runs"
    )
    job = models.OneToOneField(
        "annotate.JobRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="routing_run",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="superseded_by"
    )
    strategy = models.CharField(max_length=32, choices=RoutingStrategy.choices)
    budget = models.PositiveIntegerField(
        help_text="Instances humans label, in all (paid ones included)."
    )
    main_annotator = models.CharField(max_length=200)
    jury = models.JSONField(default=list, help_text="The other LLM annotators' names.")
    # Label identities (model name, prompt version) the verdicts were read from, per annotator.
    annotator_identities = models.JSONField(default=dict)
    n_instances = models.PositiveIntegerField(default=0)
    n_human = models.PositiveIntegerField(default=0)
    n_llm = models.PositiveIntegerField(default=0)
    human_labels_read = models.PositiveIntegerField(
        default=0, help_text="Instances whose human labels the error model was fitted on (paid)."
    )
    # The error model: version, per-judge reliability, calibrator choice, CV figures.
    model_details = models.JSONField(default=dict)
    # Predicted composed-label agreement against the human budget: [[share, agreement], ...].
    curve = models.JSONField(default=list)
    by_tag = models.JSONField(default=list)
    # Human-vs-LLM agreement per annotator where both labels exist: {name: {n, agreement}}.
    judge_agreement = models.JSONField(default=dict)
    feature_version = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Routing run #{self.pk} of {self.campaign} ({self.strategy}, budget {self.budget})"


class Route(models.TextChoices):
    HUMAN = "human", "Human"
    LLM = "llm", "LLM"


class RoutingDecision(models.Model):
    """Where one instance goes in one run, and why (the "why a human" the PM reads)."""

    run = models.ForeignKey(RoutingRun, on_delete=models.CASCADE, related_name="decisions")
    instance = models.ForeignKey(
        "annotate.Instance", on_delete=models.CASCADE, related_name="routing_decisions"
    )
    route = models.CharField(max_length=8, choices=Route.choices)
    rank = models.PositiveIntegerField(help_text="1 = the most valuable item for a human.")
    expected_gain = models.FloatField(help_text="P(LLM label wrong) × P(human decisive).")
    p_llm_wrong = models.FloatField()
    p_human_decisive = models.FloatField()
    # Human labels already given or in progress at routing time: paid, so kept human.
    already_human = models.BooleanField(default=False)
    top_signals = models.JSONField(default=list)

    class Meta:
        ordering = ["run", "rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "instance"], name="one_decision_per_instance_per_run"
            )
        ]

    def __str__(self) -> str:
        return f"{self.instance} → {self.route} (run #{self.run_id})"


class InstanceFeatures(models.Model):
    """The routing features and tags of an instance, with the feature code's version."""

    instance = models.ForeignKey(
        "annotate.Instance", on_delete=models.CASCADE, related_name="routing_features"
    )
    version = models.CharField(max_length=64)
    values = models.JSONField(default=dict, help_text="{feature name: value}")
    tags = models.JSONField(default=list)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "version"], name="one_feature_row_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"features of {self.instance} ({self.version})"
