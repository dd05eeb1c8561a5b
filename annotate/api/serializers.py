"""Request and response shapes of the API. Requests are plain serializers (parsed, then
handed to a service); responses read models and never write."""

from __future__ import annotations

from rest_framework import serializers

from annotate.importers import IMPORT_FORMATS
from annotate.models import (
    Annotation,
    AnnotationSource,
    Campaign,
    CampaignStatus,
    Instance,
    JobRun,
    Route,
)
from annotate.selectors import InstanceState, pseudonym_of
from annotate.services.annotations import MAX_TIME_SPENT_SECONDS
from annotate.task_templates import DEFAULT_TEMPLATE, TEMPLATES


class CampaignSerializer(serializers.ModelSerializer):
    class Meta:
        model = Campaign
        fields = [
            "slug", "name", "description", "status", "overlap", "lease_minutes", "human_budget",
            "randomize_response_order", "created_at",
        ]


class CampaignCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=80, required=False)
    template = serializers.ChoiceField(choices=sorted(TEMPLATES), default=DEFAULT_TEMPLATE)
    guidelines_markdown = serializers.CharField(required=False, allow_blank=True, default="")
    overlap = serializers.IntegerField(min_value=1, default=1)
    lease_minutes = serializers.IntegerField(min_value=1, default=30)
    human_budget = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
    randomize_response_order = serializers.BooleanField(default=True)


class CampaignConfigureSerializer(serializers.Serializer):
    overlap = serializers.IntegerField(min_value=1, required=False)
    lease_minutes = serializers.IntegerField(min_value=1, required=False)
    status = serializers.ChoiceField(choices=CampaignStatus.choices, required=False)
    human_budget = serializers.IntegerField(min_value=0, required=False, allow_null=True)


class ImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField()
    format = serializers.ChoiceField(choices=sorted(IMPORT_FORMATS))


class ImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    format = serializers.CharField()


class JobSerializer(serializers.ModelSerializer):
    class Meta:
        model = JobRun
        fields = [
            "id", "kind", "status", "progress_done", "progress_total", "message", "error",
            "error_details", "result", "attempts", "created_at", "started_at", "finished_at",
        ]


class ResponseSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    model_name = serializers.CharField()
    text = serializers.CharField()


class InstanceSerializer(serializers.ModelSerializer):
    responses = ResponseSerializer(many=True, read_only=True)
    route = serializers.CharField(source="queue_item.route", default=None)
    kind = serializers.CharField(source="queue_item.kind", default=None)
    required_overlap = serializers.IntegerField(source="queue_item.required_overlap", default=None)
    slots_taken = serializers.IntegerField(source="queue_item.slots_taken", default=None)

    class Meta:
        model = Instance
        fields = [
            "id", "external_id", "messages", "metadata", "responses", "route", "kind",
            "required_overlap", "slots_taken", "created_at",
        ]


class InstanceFilterSerializer(serializers.Serializer):
    route = serializers.ChoiceField(choices=Route.choices, required=False)
    status = serializers.ChoiceField(choices=InstanceState.choices, required=False)


class OptionSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    value = serializers.IntegerField(allow_null=True)


class QuestionSerializer(serializers.Serializer):
    key = serializers.CharField()
    kind = serializers.CharField()
    target = serializers.CharField()
    label = serializers.CharField()
    help_text = serializers.CharField()
    required = serializers.BooleanField()
    max_length = serializers.IntegerField(allow_null=True)
    options = OptionSerializer(many=True)


class DisplayedResponseSerializer(serializers.Serializer):
    """A response as the annotator sees it: by its display slot (0 = A), model unnamed."""

    slot = serializers.IntegerField()
    letter = serializers.CharField()
    text = serializers.CharField()


class AssignmentSerializer(serializers.Serializer):
    """A leased item: what to show, the questions to answer, and when the lease ends. The
    item is named by its database id, never by the import's ``external_id``, which may give a
    check item away ("gold-3"); annotators see no item's import id."""

    id = serializers.IntegerField(help_text="The assignment: submit answers to it.")
    status = serializers.CharField()
    item_id = serializers.IntegerField(
        help_text='The item\'s database id, as the labelling page names it ("Item #85"). '
        "The import's external_id is not shown to annotators."
    )
    messages = serializers.JSONField()
    responses = DisplayedResponseSerializer(many=True)
    questions = QuestionSerializer(many=True)
    lease_expires_at = serializers.DateTimeField()


class AnswerSerializer(serializers.Serializer):
    """One answer. ``slot`` is the display slot (0 = the response shown first) for questions
    about each response, absent for questions about the pair."""

    question = serializers.CharField()
    slot = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
    codes = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    text = serializers.CharField(required=False, allow_blank=True, default="")


class SubmissionSerializer(serializers.Serializer):
    answers = AnswerSerializer(many=True, allow_empty=False)
    time_spent_seconds = serializers.FloatField(
        min_value=0, max_value=MAX_TIME_SPENT_SECONDS, required=False, allow_null=True, default=None
    )


class SubmissionResultSerializer(serializers.Serializer):
    annotation = serializers.IntegerField()
    created = serializers.BooleanField(help_text="False when this repeats a counted submission.")
    changed = serializers.BooleanField(help_text="A repeat with other answers updated the label.")


class AnnotationFilterSerializer(serializers.Serializer):
    source = serializers.ChoiceField(choices=AnnotationSource.choices, required=False)
    pool = serializers.CharField(required=False, allow_blank=True, max_length=40, help_text="An annotator pool; empty for the default pool.")
    model_name = serializers.CharField(required=False, max_length=200, help_text="An LLM annotator's model.")
    instance = serializers.CharField(required=False, max_length=200, help_text="An instance's external id.")
    changed_since = serializers.DateTimeField(
        required=False, help_text="Labels created or revised at or after this time (ISO 8601), for incremental sync."
    )


class AnswerValueSerializer(serializers.Serializer):
    question = serializers.CharField(source="question.key")
    response_position = serializers.IntegerField(allow_null=True)
    code = serializers.CharField(source="option.code", default=None)
    value = serializers.IntegerField(allow_null=True)
    text = serializers.CharField()


class AnnotationSerializer(serializers.ModelSerializer):
    """A label with its provenance: who (a pseudonym, an imported name, or a model and its
    prompt version), the pool, and the guidelines and schema versions it was made under."""

    instance = serializers.CharField(source="instance.external_id")
    annotator = serializers.SerializerMethodField()
    guidelines_version = serializers.IntegerField(source="guidelines.version", default=None)
    task_schema_version = serializers.IntegerField(source="task_schema.version", default=None)
    answers = AnswerValueSerializer(many=True, read_only=True)

    class Meta:
        model = Annotation
        fields = [
            "id", "instance", "source", "annotator", "external_annotator", "pool", "model_name",
            "prompt_version", "job", "guidelines_version", "task_schema_version",
            "overall_preference", "confidence", "time_spent_seconds", "revision", "created_at",
            "updated_at", "answers",
        ]

    def get_annotator(self, annotation: Annotation) -> str | None:
        if not annotation.annotator_id:
            return None
        return pseudonym_of(campaign_id=annotation.campaign_id, user_id=annotation.annotator_id)


class ExportRequestSerializer(serializers.Serializer):
    """Start an export: the format (``GET /api/campaigns/<slug>/exports/`` lists them) and the
    options the export page offers."""

    format = serializers.CharField()
    file_type = serializers.ChoiceField(choices=["jsonl", "parquet"], default="jsonl")
    gzip = serializers.BooleanField(default=False)
    split = serializers.BooleanField(default=False)
    validation_fraction = serializers.FloatField(default=0.1)
    sources = serializers.ListField(child=serializers.CharField(), default=list)
    pools = serializers.ListField(child=serializers.CharField(), default=list)
    min_agreement = serializers.FloatField(required=False, allow_null=True, default=None)
    created_from = serializers.CharField(required=False, allow_blank=True, default="")
    created_to = serializers.CharField(required=False, allow_blank=True, default="")
    include_margin = serializers.BooleanField(default=True)
    license = serializers.CharField(required=False, allow_blank=True, default="")


class ExportFileSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    split = serializers.CharField()
    content_type = serializers.CharField()
    size_bytes = serializers.IntegerField()
    rows = serializers.IntegerField(allow_null=True)
    download = serializers.SerializerMethodField()

    def get_download(self, stored) -> str:
        from django.urls import reverse

        return reverse("api_export_file", args=[stored.campaign.slug, stored.pk])


class ExportJobSerializer(JobSerializer):
    files = ExportFileSerializer(source="export_files", many=True, read_only=True)

    class Meta(JobSerializer.Meta):
        fields = [*JobSerializer.Meta.fields, "params", "files"]
