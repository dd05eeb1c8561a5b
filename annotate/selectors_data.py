"""Reads for the PM's data browser: instances filtered by their state, and one instance with
every label it has."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import FieldDoesNotExist
from django.db import connection, models
from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Coalesce

from annotate.aggregation import AggregatedLabel
from annotate.models import (
    Annotation,
    AnnotationSource,
    AnswerValue,
    Assignment,
    AssignmentStatus,
    Campaign,
    Instance,
    Response,
    Route,
    SkipReason,
)
from annotate.selectors_votes import (  # the one AnnotationView builder, shared with the exports
    InstanceWithAnnotations,
    _annotation_view,
    pseudonym_of,
    response_views,
)


class InstanceStatus(models.TextChoices):
    UNLABELLED = "unlabelled", "Unlabelled"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"


class Agreement(models.TextChoices):
    UNANIMOUS = "unanimous", "Unanimous (2+ humans, one direction)"
    SPLIT = "split", "Split (humans disagree on the direction)"


FLAG_REASONS = (SkipReason.BROKEN, SkipReason.UNSAFE, SkipReason.OTHER)


@dataclass(frozen=True)
class DataFilters:
    """The data browser's filters; empty strings and False mean no restriction.

    - ``status``: *done* = a human-routed (or unrouted) item with as many human labels as
      its overlap, or an LLM-routed item with an LLM label; *unlabelled* = no label of any
      source and no open lease; *in progress* = the rest.
    - ``route``: the queue item's route. ``source``: has at least one label of it.
    - ``agreement``: among this platform's human overall preferences, *unanimous* = at least
      two, all in one direction (A, B or tie); *split* = at least two directions.
    - ``tag``: one of routing's instance tags (``InstanceFeatures.tags``, any version).
    - ``flagged``: an annotator flagged it (broken / unsafe / other); ``skipped``: an
      annotator skipped it, for any reason (flags included).
    """

    status: str = ""
    route: str = ""
    source: str = ""
    agreement: str = ""
    tag: str = ""
    flagged: bool = False
    skipped: bool = False


def tags_available() -> bool:
    """Whether instance tags can be filtered: the routing app (which owns them) is installed.
    ``annotate`` does not import routing; it reaches the tags through the reverse relation."""
    try:
        Instance._meta.get_field("routing_features")
    except FieldDoesNotExist:
        return False
    return True


def instance_tags_of(*, campaign: Campaign) -> dict[int, list[str]]:
    """Instance id → its tags (its newest feature row's), read through the reverse relation
    so that annotate need not import routing; empty without the routing app."""
    if not tags_available():
        return {}
    rows = (
        Instance.objects.filter(campaign=campaign, routing_features__isnull=False)
        .order_by("pk", "-routing_features__computed_at")
        .values_list("pk", "routing_features__tags")
    )
    tags: dict[int, list[str]] = {}
    for instance_id, values in rows:
        tags.setdefault(instance_id, list(values or []))
    return tags


def _tagged_instance_ids(*, campaign: Campaign, tag: str):
    """A subquery of the campaign's instances with ``tag`` in any of their feature rows' tags."""
    if connection.vendor == "postgresql":
        # jsonb containment: one array element equal to the tag.
        return Instance.objects.filter(campaign=campaign, routing_features__tags__contains=[tag]).values("pk")
    # SQLite (the quick start) has no JSON containment lookup; its json_each does the same.
    features = Instance._meta.get_field("routing_features").related_model._meta.db_table
    return RawSQL(
        f'SELECT f.instance_id FROM "{features}" f, json_each(f.tags) t '  # noqa: S608 — table name from the model
        "WHERE t.value = %s",
        (tag,),
    )


def _count(queryset: QuerySet) -> Coalesce:
    counted = queryset.order_by().values("instance_id").annotate(n=Count("id")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def browse_instances(*, campaign: Campaign, filters: DataFilters) -> QuerySet[Instance]:
    """The campaign's instances that pass ``filters``, oldest first, each annotated with
    ``n_human`` / ``n_imported`` / ``n_llm`` label counts, ``is_flagged``, ``is_skipped``,
    ``has_lease`` and ``status``, and with its queue item: one query per page."""
    labels = Annotation.objects.filter(instance_id=OuterRef("pk"))
    votes = labels.filter(source=AnnotationSource.HUMAN, overall_preference__isnull=False)
    assignments = Assignment.objects.filter(instance_id=OuterRef("pk"))
    directions = (
        Cast(Exists(votes.filter(overall_preference__lt=0)), IntegerField())
        + Cast(Exists(votes.filter(overall_preference=0)), IntegerField())
        + Cast(Exists(votes.filter(overall_preference__gt=0)), IntegerField())
    )
    instances = (
        Instance.objects.filter(campaign=campaign)
        .select_related("queue_item")
        .annotate(
            n_human=_count(labels.filter(source=AnnotationSource.HUMAN)),
            n_imported=_count(labels.filter(source=AnnotationSource.IMPORTED)),
            n_llm=_count(labels.filter(source=AnnotationSource.LLM)),
            n_votes=_count(votes),
            n_directions=directions,
            is_flagged=Exists(assignments.filter(status=AssignmentStatus.SKIPPED, skip_reason__in=FLAG_REASONS)),
            is_skipped=Exists(assignments.filter(status=AssignmentStatus.SKIPPED)),
            has_lease=Exists(assignments.filter(status=AssignmentStatus.LEASED)),
        )
    )
    done = (Q(queue_item__route=Route.LLM) & Q(n_llm__gt=0)) | (
        ~Q(queue_item__route=Route.LLM) & Q(n_human__gte=F("queue_item__required_overlap"))
    )
    unlabelled = Q(n_human=0, n_imported=0, n_llm=0, has_lease=False)
    instances = instances.annotate(
        status=models.Case(
            models.When(done, then=Value(InstanceStatus.DONE.value)),
            models.When(unlabelled, then=Value(InstanceStatus.UNLABELLED.value)),
            default=Value(InstanceStatus.IN_PROGRESS.value),
            output_field=models.CharField(),
        )
    )
    if filters.status:
        instances = instances.filter(status=filters.status)
    if filters.route:
        instances = instances.filter(queue_item__route=filters.route)
    if filters.source:
        instances = instances.filter(Exists(labels.filter(source=filters.source)))
    if filters.agreement == Agreement.UNANIMOUS:
        instances = instances.filter(n_votes__gte=2, n_directions=1)
    elif filters.agreement == Agreement.SPLIT:
        instances = instances.filter(n_directions__gte=2)
    if filters.tag and tags_available():
        instances = instances.filter(pk__in=_tagged_instance_ids(campaign=campaign, tag=filters.tag))
    if filters.flagged:
        instances = instances.filter(is_flagged=True)
    if filters.skipped:
        instances = instances.filter(is_skipped=True)
    return instances.order_by("id")


@dataclass(frozen=True)
class SkipView:
    who: str  # the annotator's pseudonym
    reason: str
    reason_label: str
    note: str
    is_flag: bool


@dataclass(frozen=True)
class InstanceDetail:
    instance: InstanceWithAnnotations
    route: str | None
    kind: str | None
    required_overlap: int | None
    skips: list[SkipView]


def get_instance_detail(*, campaign: Campaign, instance_id: int) -> InstanceDetail | None:
    """One instance of ``campaign`` (None for another campaign's) with its responses, every
    label (human, imported, LLM) with all answers, and its skips and flags."""
    answers = AnswerValue.objects.select_related("question", "option").order_by(
        "question__order", "response_position", "id"
    )
    instance = (
        Instance.objects.filter(campaign=campaign, pk=instance_id)
        .select_related("queue_item")
        .prefetch_related(
            Prefetch("responses", queryset=Response.objects.order_by("position")),
            Prefetch(
                "annotations",
                queryset=Annotation.objects.select_related("guidelines", "task_schema")
                .prefetch_related(Prefetch("answers", queryset=answers))
                .order_by("source", "id"),
            ),
            Prefetch(
                "assignments",
                queryset=Assignment.objects.filter(status=AssignmentStatus.SKIPPED).order_by("id"),
                to_attr="skipped_assignments",
            ),
        )
        .first()
    )
    if instance is None:
        return None
    queue_item = getattr(instance, "queue_item", None)
    return InstanceDetail(
        instance=InstanceWithAnnotations(
            instance_id=instance.pk,
            external_id=instance.external_id,
            messages=instance.messages,
            metadata=instance.metadata,
            responses=response_views(instance),
            annotations=[_annotation_view(a) for a in instance.annotations.all()],
        ),
        route=queue_item.route if queue_item else None,
        kind=queue_item.kind if queue_item else None,
        required_overlap=queue_item.required_overlap if queue_item else None,
        skips=[
            SkipView(
                who=pseudonym_of(campaign_id=campaign.pk, user_id=a.annotator_id),
                reason=a.skip_reason,
                reason_label=a.get_skip_reason_display(),
                note=a.skip_note,
                is_flag=a.is_flagged,
            )
            for a in instance.skipped_assignments
        ],
    )


def aggregate_label_for_instance(*, campaign: Campaign, instance: InstanceWithAnnotations) -> AggregatedLabel:
    """The instance's final label and its provenance, by the rule the exports use: the
    campaign's aggregation policy, and the PM's adjudication when there is one. Dawid–Skene
    needs every vote of the campaign, so it is fitted over the campaign (then read here)."""
    from annotate.aggregation_policies import label_of_instance
    from annotate.selectors import campaign_labels, current_adjudications

    return label_of_instance(
        policy=campaign.aggregation_policy,
        instance_id=instance.instance_id,
        votes=instance.votes,
        adjudications=current_adjudications(campaign=campaign),
        campaign_fit=lambda: campaign_labels(campaign=campaign),
    )
