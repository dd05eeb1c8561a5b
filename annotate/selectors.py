"""Reads. The visibility rules live here and nowhere else.

Reads of labels (``selectors_votes``) and of the queue and progress (``selectors_queue``) are
re-exported, so ``from annotate.selectors import ...`` reaches every read of this module's kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.db import connection, models
from django.db.models import F, OuterRef, Prefetch, Q, QuerySet, Subquery

from annotate.aggregation import AggregatedLabel, Vote
from annotate.aggregation_policies import AdjudicatedLabel, aggregate_campaign_votes
from annotate.agreement import QuestionAgreement as QuestionAgreementT
from annotate.models import (
    Annotation,
    AnnotationSource,
    AnswerValue,
    Assignment,
    AssignmentStatus,
    Campaign,
    CampaignMembership,
    CampaignRole,
    GuidelineVersion,
    Instance,
    JobKind,
    JobRun,
    QualitySettings,
    QueueItem,
    QueueItemKind,
    Response,
    TaskSchema,
)
from annotate.selectors_queue import (  # noqa: F401 - re-exported: callers import from here
    REMAINING_COUNT_CAP,
    AnnotatorProgress,
    CampaignProgress,
    DisplayedResponse,
    count_submitted_by,
    get_annotator_progress,
    get_campaign_progress,
    in_display_order,
    open_queue_items,
    open_queue_items_for,
    open_queue_items_for_sql,
    responses_by_position,
)
from annotate.selectors_votes import (  # noqa: F401 - re-exported: callers import from here
    AnnotationView,
    AnswerView,
    InstanceWithAnnotations,
    InstanceWithVotes,
    LabelFilter,
    ResponseView,
    iter_instances_with_annotations,
    iter_instances_with_votes,
    pseudonym_of,
)
from annotate.sql_rows import attach_related, columns_of, table_of


def campaigns_visible_to(user) -> QuerySet[Campaign]:
    if not user.is_authenticated:
        return Campaign.objects.none()
    if user.is_superuser:
        return Campaign.objects.all()
    return Campaign.objects.filter(memberships__user=user, memberships__is_active=True).distinct()


def campaign_and_roles(*, user, slug: str) -> tuple[Campaign | None, set[str]]:
    """The campaign ``slug`` if ``user`` may see it (the rule of :func:`campaigns_visible_to`),
    with the roles they hold in it: one query for members (their membership rows carry the
    campaign), two for site admins. The campaign's task schema, guidelines and quality settings
    come in the same query (every annotator request uses them)."""
    if not user.is_authenticated:
        return None, set()
    if user.is_superuser:
        campaign = (
            Campaign.objects.select_related("task_schema", "guidelines", "quality_settings")
            .filter(slug=slug)
            .first()
        )
        return campaign, (roles_in_campaign(user=user, campaign=campaign) if campaign else set())
    # Every workspace request runs this read: a fixed statement (annotate.sql_rows), not an
    # ORM query compiled per request. One row per active membership of the user in it.
    campaign_cols, schema_cols, guidelines_cols, quality_cols = (
        columns_of(Campaign),
        columns_of(TaskSchema),
        columns_of(GuidelineVersion),
        columns_of(QualitySettings),
    )
    with connection.cursor() as cursor:
        cursor.execute(_campaign_and_roles_sql(), [user.pk, slug, True])
        rows = cursor.fetchall()
    if not rows:
        return None, set()
    row = rows[0]
    offset = 1
    campaign = campaign_cols.instance(row, offset)
    offset += len(campaign_cols)
    attach_related(campaign, "task_schema", schema_cols.instance(row, offset))
    offset += len(schema_cols)
    attach_related(campaign, "guidelines", guidelines_cols.instance(row, offset))
    offset += len(guidelines_cols)
    quality = quality_cols.instance(row, offset)
    if quality is not None:
        attach_related(quality, "campaign", campaign)
    attach_related(campaign, "quality_settings", quality)
    return campaign, {r[0] for r in rows}


@lru_cache(maxsize=None)
def _campaign_and_roles_sql() -> str:
    """The member's read of :func:`campaign_and_roles`: the membership rows' roles with the
    campaign, its task schema, guidelines and quality settings (params: user id, slug, True)."""
    return (
        f"SELECT m.role, {columns_of(Campaign).select('c')}, {columns_of(TaskSchema).select('ts')},"
        f" {columns_of(GuidelineVersion).select('g')}, {columns_of(QualitySettings).select('q')}"
        f" FROM {table_of(CampaignMembership)} m INNER JOIN {table_of(Campaign)} c ON c.id = m.campaign_id"
        f" LEFT JOIN {table_of(TaskSchema)} ts ON ts.id = c.task_schema_id"
        f" LEFT JOIN {table_of(GuidelineVersion)} g ON g.id = c.guidelines_id"
        f" LEFT JOIN {table_of(QualitySettings)} q ON q.campaign_id = c.id"
        " WHERE m.user_id = %s AND c.slug = %s AND m.is_active = %s"
    )


def annotator_pool_of_assignment() -> Subquery:
    """The pool of an assignment's annotator in its campaign, as a subquery to annotate with."""
    pool = CampaignMembership.objects.filter(
        campaign_id=OuterRef("campaign_id"), user_id=OuterRef("annotator_id"), role=CampaignRole.ANNOTATOR
    ).values("pool")[:1]
    return Subquery(pool)


def roles_in_campaign(*, user, campaign: Campaign) -> set[str]:
    if not user.is_authenticated:
        return set()
    roles = set(
        campaign.memberships.filter(user=user, is_active=True).values_list("role", flat=True)
    )
    if user.is_superuser:
        roles |= {CampaignRole.PROJECT_MANAGER, CampaignRole.RESEARCHER}
    return roles


def instances_without_human_labels(*, campaign: Campaign) -> QuerySet[Instance]:
    """Instances no human has labelled and no annotator holds a live lease on."""
    return (
        Instance.objects.filter(campaign=campaign)
        .exclude(annotations__source=AnnotationSource.HUMAN)
        .exclude(assignments__status=AssignmentStatus.LEASED)
        .order_by("id")
    )


def recent_jobs(*, campaign: Campaign, limit: int = 10) -> QuerySet[JobRun]:
    return campaign.jobs.order_by("-created_at")[:limit]


def recent_submissions(*, campaign: Campaign, annotator, limit: int = 20) -> QuerySet[Assignment]:
    """The annotator's latest submitted items in this campaign, newest first, with their label."""
    return (
        Assignment.objects.filter(
            campaign=campaign, annotator=annotator, status=AssignmentStatus.SUBMITTED
        )
        .select_related("instance", "annotation")
        .order_by("-submitted_at", "-id")[:limit]
    )


class InstanceState(models.TextChoices):
    """Whether an item's queue still has room for another human label (leases count)."""

    OPEN = "open", "Has room"
    FULL = "full", "Every slot taken"


def instances_of(
    *, campaign: Campaign, route: str | None = None, state: str | None = None
) -> QuerySet[Instance]:
    """The campaign's instances, oldest first, with their responses and queue item."""
    instances = (
        Instance.objects.filter(campaign=campaign)
        .select_related("queue_item")
        .prefetch_related(Prefetch("responses", queryset=Response.objects.order_by("position")))
        .order_by("id")
    )
    if route:
        instances = instances.filter(queue_item__route=route)
    if state == InstanceState.OPEN:
        instances = instances.filter(queue_item__slots_taken__lt=F("queue_item__required_overlap"))
    elif state == InstanceState.FULL:
        instances = instances.filter(queue_item__slots_taken__gte=F("queue_item__required_overlap"))
    return instances


def annotations_of(
    *,
    campaign: Campaign,
    source: str | None = None,
    pool: str | None = None,
    model_name: str | None = None,
    instance_external_id: str | None = None,
    changed_since: datetime | None = None,
) -> QuerySet[Annotation]:
    """The campaign's labels, oldest first, with what is needed to say where each came from.

    Filters (None = no restriction): ``pool`` ("" is the default pool), ``model_name`` (an LLM
    annotator), ``instance_external_id``, and ``changed_since``: labels created or revised at
    or after that time, so a client can sync incrementally."""
    annotations = (
        Annotation.objects.filter(campaign=campaign)
        .select_related("instance", "guidelines", "task_schema")
        .prefetch_related("answers__question", "answers__option")
        .order_by("id")
    )
    if source:
        annotations = annotations.filter(source=source)
    if pool is not None:
        annotations = annotations.filter(pool=pool)
    if model_name:
        annotations = annotations.filter(model_name=model_name)
    if instance_external_id is not None:
        annotations = annotations.filter(instance__external_id=instance_external_id)
    if changed_since is not None:
        annotations = annotations.filter(
            Q(created_at__gte=changed_since) | Q(updated_at__gte=changed_since)
        )
    return annotations


def recent_exports(*, campaign: Campaign, limit: int = 10) -> list[JobRun]:
    """The campaign's latest export jobs, newest first, each with its files prefetched."""
    return list(
        JobRun.objects.filter(campaign=campaign, kind=JobKind.EXPORT)
        .select_related("created_by")
        .prefetch_related("export_files")
        .order_by("-created_at")[:limit]
    )


def export_file_of_campaign(*, campaign: Campaign, file_id: int):
    from annotate.models import ExportFile

    return ExportFile.objects.filter(campaign=campaign, pk=file_id).first()


def current_adjudications(*, campaign: Campaign) -> dict[int, AdjudicatedLabel]:
    """The current PM decision per instance id of the campaign."""
    from annotate.aggregation import direction_of
    from annotate.models import Adjudication

    rows = Adjudication.objects.filter(campaign=campaign, is_current=True).values_list(
        "instance_id", "overall_preference", "decided_by__username"
    )
    return {
        instance_id: AdjudicatedLabel(direction_of(preference), float(preference), username)
        for instance_id, preference, username in rows
    }


def campaign_labels(
    *, campaign: Campaign, labels: LabelFilter | None = None
) -> dict[int, AggregatedLabel]:
    """Every instance's final label under the campaign's aggregation policy (Dawid–Skene
    fitted over all the campaign's votes at once), adjudications included."""
    votes = {
        item.instance_id: item.votes
        for item in iter_instances_with_votes(campaign=campaign, labels=labels)
    }
    return aggregate_campaign_votes(
        policy=campaign.aggregation_policy,
        votes_by_instance=votes,
        adjudications=current_adjudications(campaign=campaign),
    )


@dataclass(frozen=True)
class Disagreement:
    """An instance for the adjudication page: its humans split, or their majority and an LLM
    annotator disagree (``reason``), with every vote and the current decision, if any."""

    instance_id: int
    external_id: str
    reason: str  # "human_split" | "human_vs_llm" | "adjudicated"
    votes: list[Vote]
    label: AggregatedLabel
    adjudication: AdjudicatedLabel | None
    note: str


def list_disagreements(*, campaign: Campaign) -> list[Disagreement]:
    """The campaign's disagreements (and every adjudicated instance) among its regular items,
    oldest instance first. ``label`` is the campaign policy's label (``adjudicated`` where the
    PM decided).

    Check items are never listed: gold and attention items have a known answer, so an
    annotator who departs from it is scored wrong on the quality page (a quality signal, not
    a label to settle), and qualification items are answered by candidates before admission.
    ``adjudicate_instance`` refuses them too."""
    from annotate.aggregation import aggregate_pairwise_votes, direction_of
    from annotate.models import Adjudication

    decisions = current_adjudications(campaign=campaign)
    notes = dict(
        Adjudication.objects.filter(campaign=campaign, is_current=True).values_list(
            "instance_id", "note"
        )
    )
    items = list(iter_instances_with_votes(campaign=campaign, regular_only=True))
    labels = campaign_labels(campaign=campaign)
    rows = []
    for item in items:
        human = [v for v in item.votes if v.source == "human"]
        llm = [v for v in item.votes if v.source == "llm"]
        majority = aggregate_pairwise_votes(human)
        if majority.provenance.value == "human_split":
            reason = "human_split"
        elif (
            human
            and majority.winner is not None
            and any(direction_of(v.overall_preference) != majority.winner for v in llm)
        ):
            reason = "human_vs_llm"
        elif item.instance_id in decisions:
            reason = "adjudicated"
        else:
            continue
        rows.append(
            Disagreement(
                instance_id=item.instance_id,
                external_id=item.external_id,
                reason=reason,
                votes=item.votes,
                label=labels[item.instance_id],
                adjudication=decisions.get(item.instance_id),
                note=notes.get(item.instance_id, ""),
            )
        )
    return rows


def count_regular_items(*, campaign: Campaign) -> int:
    """The campaign's regular items: those the agreement figures cover (check items are not)."""
    return QueueItem.objects.filter(campaign=campaign, kind=QueueItemKind.REGULAR).count()


def agreement_report(
    *, campaign: Campaign, tags: dict[int, list[str]] | None = None
) -> list[QuestionAgreementT]:
    """Agreement per question of the campaign's current task (text questions left out):
    human–human α and κ, human–LLM κ per LLM annotator (model name), human α by tag when
    ``tags`` (instance id → tags, e.g. ``annotate.selectors_data.instance_tags_of``) is given.
    Scales are ordinal (quadratic κ); choices nominal, an annotation's ticked set as one value.
    Over regular items only: qualification items are labelled by candidates before they are
    admitted, and gold and attention items have expected answers (their figure is accuracy,
    on the quality page)."""
    from annotate.agreement import Rating, question_agreement
    from annotate.models import Question, QuestionKind, QuestionTarget

    questions = list(
        Question.objects.filter(schema_id=campaign.task_schema_id)
        .exclude(kind=QuestionKind.TEXT)
        .order_by("order")
    )
    rows = (
        AnswerValue.objects.filter(
            annotation__campaign=campaign,
            annotation__instance__queue_item__kind=QueueItemKind.REGULAR,
            question__in=questions,
        )
        .values_list(
            "question_id",
            "annotation_id",
            "annotation__instance_id",
            "response_position",
            "annotation__source",
            "annotation__annotator_id",
            "annotation__external_annotator",
            "annotation__model_name",
            "value",
            "option__code",
        )
        .order_by("annotation_id", "option__code")
    )
    collected: dict[tuple, dict] = {}
    for q_id, a_id, instance_id, position, source, user_id, external, model, value, code in rows:
        question = next(q for q in questions if q.pk == q_id)
        item = (
            (instance_id, position)
            if question.target == QuestionTarget.EACH_RESPONSE
            else instance_id
        )
        rater = {"human": f"user:{user_id}", "imported": f"imported:{external}"}.get(source, model)
        key = (q_id, a_id, item)
        entry = collected.setdefault(
            key, {"item": item, "rater": rater, "source": source, "codes": [], "value": value}
        )
        if code:
            entry["codes"].append(code)
    by_question: dict[int, list[Rating]] = {q.pk: [] for q in questions}
    for (q_id, _a, _item), e in collected.items():
        choices = next(q for q in questions if q.pk == q_id).kind == QuestionKind.CHOICES
        if choices:
            value = "|".join(sorted(e["codes"]))
        elif e["value"] is None:
            continue
        else:
            value = e["value"]
        by_question[q_id].append(
            Rating(item=e["item"], rater=e["rater"], source=e["source"], value=value)
        )
    return [
        question_agreement(
            question=q.key,
            ratings=by_question[q.pk],
            ordinal=q.kind != QuestionKind.CHOICES,
            tags=tags,
        )
        for q in questions
    ]
