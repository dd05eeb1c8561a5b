"""Reads. The visibility rules live here and nowhere else."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime

from django.conf import settings
from django.db import connection, models
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet

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
    Route,
    TaskSchema,
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
            Campaign.objects.select_related("task_schema", "guidelines", "quality_settings").filter(slug=slug).first()
        )
        return campaign, (roles_in_campaign(user=user, campaign=campaign) if campaign else set())
    # Every workspace request runs this read: a fixed statement (annotate.sql_rows), not an
    # ORM query compiled per request. One row per active membership of the user in it.
    campaign_cols, schema_cols, guidelines_cols, quality_cols = (
        columns_of(Campaign), columns_of(TaskSchema), columns_of(GuidelineVersion), columns_of(QualitySettings)
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


def roles_in_campaign(*, user, campaign: Campaign) -> set[str]:
    if not user.is_authenticated:
        return set()
    roles = set(campaign.memberships.filter(user=user, is_active=True).values_list("role", flat=True))
    if user.is_superuser:
        roles |= {CampaignRole.PROJECT_MANAGER, CampaignRole.RESEARCHER}
    return roles


def pseudonym_of(*, campaign_id: int, user_id: int) -> str:
    """The exported id of annotator ``user_id`` in campaign ``campaign_id``: ``ann-<12 hex>``,
    a keyed hash (``settings.PSEUDONYM_KEY``) so that it is stable within a campaign, differs
    between campaigns, and neither reveals nor orders the user id."""
    message = f"{campaign_id}:{user_id}".encode()
    digest = hmac.new(settings.PSEUDONYM_KEY.encode(), message, hashlib.sha256).hexdigest()
    return f"ann-{digest[:12]}"


@dataclass(frozen=True)
class ResponseView:
    position: int
    model_name: str
    text: str


@dataclass(frozen=True)
class InstanceWithVotes:
    instance_id: int
    external_id: str
    messages: list
    metadata: dict
    responses: list[ResponseView]
    votes: list[Vote]


@dataclass(frozen=True)
class LabelFilter:
    """Which labels count: by source (``human`` / ``imported`` / ``llm``), annotator pool
    (``""`` = the default pool) and creation time (``created_from`` inclusive,
    ``created_to`` exclusive). Empty tuples and None mean no restriction."""

    sources: tuple[str, ...] = ()
    pools: tuple[str, ...] = ()
    created_from: datetime | None = None
    created_to: datetime | None = None

    def as_q(self) -> Q:
        q = Q()
        if self.sources:
            q &= Q(source__in=self.sources)
        if self.pools:
            q &= Q(pool__in=self.pools)
        if self.created_from is not None:
            q &= Q(created_at__gte=self.created_from)
        if self.created_to is not None:
            q &= Q(created_at__lt=self.created_to)
        return q


def iter_instances_with_votes(
    *, campaign: Campaign, chunk_size: int = 500, labels: LabelFilter | None = None, regular_only: bool = False
) -> Iterator[InstanceWithVotes]:
    """Every instance of the campaign with its responses and pairwise votes, streamed.

    Each vote carries the guidelines version its label was made under, not the campaign's.
    ``labels`` keeps only the votes it admits (the instances stay, perhaps without votes).
    ``regular_only`` leaves out check items (gold, attention, qualification).
    """
    votes_qs = (
        Annotation.objects.filter(overall_preference__isnull=False)
        .filter((labels or LabelFilter()).as_q())
        .select_related("guidelines")
        .only(
            "instance_id",
            "campaign_id",
            "source",
            "overall_preference",
            "annotator_id",
            "external_annotator",
            "model_name",
            "prompt_version",
            "pool",
            "guidelines__version",
        )
    )
    instances = Instance.objects.filter(campaign=campaign)
    if regular_only:
        instances = instances.filter(queue_item__kind=QueueItemKind.REGULAR)
    instances = (
        instances.order_by("id")
        .prefetch_related(
            Prefetch("responses", queryset=Response.objects.order_by("position")),
            Prefetch("annotations", queryset=votes_qs),
        )
    )
    for instance in instances.iterator(chunk_size=chunk_size):
        votes = [
            Vote(
                source=a.source,
                overall_preference=a.overall_preference,
                who=_who(a),
                guidelines_version=a.guidelines.version if a.guidelines_id else None,
                pool=a.pool,
            )
            for a in instance.annotations.all()
        ]
        yield InstanceWithVotes(
            instance_id=instance.pk,
            external_id=instance.external_id,
            messages=instance.messages,
            metadata=instance.metadata,
            responses=[ResponseView(r.position, r.model_name, r.text) for r in instance.responses.all()],
            votes=votes,
        )


@dataclass(frozen=True)
class AnswerView:
    question: str  # the question's key
    response_position: int | None  # None for a question about the pair
    option: str | None  # the chosen option's code; None for a text answer
    value: int | None
    text: str


@dataclass(frozen=True)
class AnnotationView:
    annotation_id: int
    source: str
    who: str  # pseudonym, ``imported:<id>`` or ``model@prompt_version``
    external_annotator: str
    pool: str
    model_name: str
    prompt_version: str
    guidelines_version: int | None
    task_schema_version: int | None
    overall_preference: int | None
    confidence: float | None
    time_spent_seconds: float | None
    created_at: datetime
    revision: int
    answers: tuple[AnswerView, ...]

    def vote(self) -> Vote | None:
        if self.overall_preference is None:
            return None
        return Vote(
            source=self.source,
            overall_preference=self.overall_preference,
            who=self.who,
            guidelines_version=self.guidelines_version,
            pool=self.pool,
        )


@dataclass(frozen=True)
class InstanceWithAnnotations:
    instance_id: int
    external_id: str
    messages: list
    metadata: dict
    responses: list[ResponseView]
    annotations: list[AnnotationView]

    @property
    def votes(self) -> list[Vote]:
        return [vote for a in self.annotations if (vote := a.vote()) is not None]


def iter_instances_with_annotations(
    *, campaign: Campaign, chunk_size: int = 200, labels: LabelFilter | None = None
) -> Iterator[InstanceWithAnnotations]:
    """Every instance of the campaign with its responses and every label ``labels`` admits
    (human, imported and LLM, with all their answers), streamed in ``chunk_size`` instances."""
    answers = AnswerValue.objects.select_related("question", "option").order_by("question__order", "response_position", "id")
    annotations = (
        Annotation.objects.filter((labels or LabelFilter()).as_q())
        .select_related("guidelines", "task_schema")
        .prefetch_related(Prefetch("answers", queryset=answers))
        .order_by("id")
    )
    instances = (
        Instance.objects.filter(campaign=campaign)
        .order_by("id")
        .prefetch_related(
            Prefetch("responses", queryset=Response.objects.order_by("position")),
            Prefetch("annotations", queryset=annotations),
        )
    )
    for instance in instances.iterator(chunk_size=chunk_size):
        yield InstanceWithAnnotations(
            instance_id=instance.pk,
            external_id=instance.external_id,
            messages=instance.messages,
            metadata=instance.metadata,
            responses=[ResponseView(r.position, r.model_name, r.text) for r in instance.responses.all()],
            annotations=[_annotation_view(a) for a in instance.annotations.all()],
        )


def _annotation_view(a: Annotation) -> AnnotationView:
    return AnnotationView(
        annotation_id=a.pk,
        source=a.source,
        who=_who(a),
        external_annotator=a.external_annotator,
        pool=a.pool,
        model_name=a.model_name,
        prompt_version=a.prompt_version,
        guidelines_version=a.guidelines.version if a.guidelines_id else None,
        task_schema_version=a.task_schema.version if a.task_schema_id else None,
        overall_preference=a.overall_preference,
        confidence=a.confidence,
        time_spent_seconds=a.time_spent_seconds,
        created_at=a.created_at,
        revision=a.revision,
        answers=tuple(
            AnswerView(
                question=v.question.key,
                response_position=v.response_position,
                option=v.option.code if v.option_id else None,
                value=v.value,
                text=v.text,
            )
            for v in a.answers.all()
        ),
    )


def _who(annotation: Annotation) -> str:
    if annotation.source == AnnotationSource.HUMAN:
        return pseudonym_of(campaign_id=annotation.campaign_id, user_id=annotation.annotator_id)
    if annotation.source == AnnotationSource.IMPORTED:
        return f"imported:{annotation.external_annotator}"
    if annotation.prompt_version:
        return f"{annotation.model_name}@{annotation.prompt_version}"
    return annotation.model_name


@dataclass(frozen=True)
class CampaignProgress:
    instances: int
    human_labelled: int  # instances with at least one human label
    human_complete: int  # instances with as many human labels as the overlap asks
    llm_labelled: int  # instances with at least one LLM label
    labelled: int  # instances with any label
    human_annotations: int
    llm_annotations: int
    open_leases: int


def get_campaign_progress(*, campaign: Campaign) -> CampaignProgress:
    instances = Instance.objects.filter(campaign=campaign)
    human_of = Annotation.objects.filter(instance=OuterRef("pk"), source=AnnotationSource.HUMAN)
    llm_of = Annotation.objects.filter(instance=OuterRef("pk"), source=AnnotationSource.LLM)
    annotation_counts = Annotation.objects.filter(campaign=campaign).aggregate(
        human=Count("id", filter=Q(source=AnnotationSource.HUMAN)),
        llm=Count("id", filter=Q(source=AnnotationSource.LLM)),
    )
    return CampaignProgress(
        instances=instances.count(),
        human_labelled=instances.filter(Exists(human_of)).count(),
        human_complete=instances.annotate(
            n_human=Count("annotations", filter=Q(annotations__source=AnnotationSource.HUMAN))
        )
        .filter(n_human__gte=campaign.overlap)
        .count(),
        llm_labelled=instances.filter(Exists(llm_of)).count(),
        labelled=instances.filter(Exists(human_of) | Exists(llm_of)).count(),
        human_annotations=annotation_counts["human"],
        llm_annotations=annotation_counts["llm"],
        open_leases=campaign.assignments.filter(status=AssignmentStatus.LEASED).count(),
    )


def count_submitted_by(*, campaign: Campaign, annotator) -> int:
    return campaign.assignments.filter(
        annotator=annotator, status=AssignmentStatus.SUBMITTED
    ).count()


# How far the workspace counts an annotator's remaining items ("more than 100 remaining"
# beyond): each item counted is an anti-join probe on every page the annotator sees, and 1,000
# of them were the costliest query of submit-and-next under load (issue 18).
REMAINING_COUNT_CAP = 100


@dataclass(frozen=True)
class AnnotatorProgress:
    done: int  # submitted by this annotator
    open: int  # leased to them now
    remaining: int  # items they could still be given now (free slots, not theirs yet)

    @property
    def total(self) -> int:
        return self.done + self.open + self.remaining

    @property
    def remaining_is_capped(self) -> bool:
        return self.remaining > REMAINING_COUNT_CAP

    @property
    def remaining_cap(self) -> int:
        return REMAINING_COUNT_CAP


def open_queue_items(*, campaign: Campaign) -> QuerySet[QueueItem]:
    """Items with a free slot that humans may be given, in hand-out order: highest priority,
    then closest to their overlap, then oldest (the order of the partial index
    ``queue_item_open_for_humans``)."""
    return (
        QueueItem.objects.filter(campaign=campaign, slots_taken__lt=F("required_overlap"))
        .exclude(route=Route.LLM)
        .order_by("-priority", "-slots_taken", "id")
    )


def _not_theirs(*, annotator) -> Exists:
    return Exists(
        Assignment.objects.filter(instance_id=OuterRef("instance_id"), annotator=annotator).exclude(
            status=AssignmentStatus.EXPIRED
        )
    )


def open_queue_items_for(*, campaign: Campaign, annotator) -> QuerySet[QueueItem]:
    """The open items ``annotator`` may be given: not ones they hold, submitted or skipped
    (their own expired lease does not count: they may get that item back), narrowed by
    quality control."""
    from annotate.selectors_quality import gate_queue_items  # issue 17: quality control

    items = open_queue_items(campaign=campaign).exclude(_not_theirs(annotator=annotator))
    return gate_queue_items(campaign=campaign, annotator=annotator, items=items)


def open_queue_items_for_sql(*, campaign: Campaign, annotator, columns: str = "q.id") -> tuple[str, list]:
    """:func:`open_queue_items_for` as a fixed SELECT of ``columns`` (queue items aliased
    ``q``), unordered, with its params: for the hot path's reads, which would otherwise
    build and compile the same ORM query on every request (annotate.sql_rows). Tested to
    select the same rows as the queryset, quality gates included."""
    from annotate.selectors_quality import queue_gate

    gate = queue_gate(
        campaign=campaign,
        annotator=annotator,
        ungated_items=lambda: open_queue_items(campaign=campaign).exclude(_not_theirs(annotator=annotator)),
    )
    gate_sql, gate_params = gate.sql("q")
    sql = (
        f"SELECT {columns} FROM {table_of(QueueItem)} q"
        " WHERE q.campaign_id = %s AND q.slots_taken < q.required_overlap AND NOT q.route = %s"
        f" AND NOT EXISTS (SELECT 1 FROM {table_of(Assignment)} u"
        " WHERE u.instance_id = q.instance_id AND u.annotator_id = %s AND NOT u.status = %s)"
        f"{gate_sql}"
    )
    return sql, [campaign.pk, Route.LLM.value, annotator.pk, AssignmentStatus.EXPIRED.value, *gate_params]


def get_annotator_progress(*, campaign: Campaign, annotator) -> AnnotatorProgress:
    """The annotator's done and open counts and what remains for them, in one statement (every
    task page shows it: one round trip, and no ORM query compiled)."""
    # Counted up to a cap, so the cost of showing progress does not grow with the campaign.
    remaining_sql, remaining_params = open_queue_items_for_sql(campaign=campaign, annotator=annotator)
    with connection.cursor() as cursor:
        cursor.execute(
            # The outer table is aliased, so nothing in the remaining count can refer to it.
            "SELECT COALESCE(SUM(CASE WHEN mine.status = %s THEN 1 ELSE 0 END), 0),"
            " COALESCE(SUM(CASE WHEN mine.status = %s THEN 1 ELSE 0 END), 0),"
            f" (SELECT COUNT(*) FROM ({remaining_sql} LIMIT {REMAINING_COUNT_CAP + 1}) AS remaining)"
            f" FROM {table_of(Assignment)} AS mine WHERE mine.campaign_id = %s AND mine.annotator_id = %s",
            [AssignmentStatus.SUBMITTED.value, AssignmentStatus.LEASED.value, *remaining_params, campaign.pk, annotator.pk],
        )
        done, open_now, remaining_count = cursor.fetchone()
    return AnnotatorProgress(done=done, open=open_now, remaining=remaining_count)


@dataclass(frozen=True)
class DisplayedResponse:
    letter: str  # as shown: A, B, ...
    position: int  # in the source row
    model_name: str
    text: str


def responses_by_position(*, instance_id: int) -> dict[int, Response]:
    return {r.position: r for r in Response.objects.filter(instance_id=instance_id)}


def in_display_order(*, assignment: Assignment, responses: dict[int, Response]) -> list[DisplayedResponse]:
    """The instance's responses in the order this annotator sees them."""
    order = [p for p in assignment.display_order if p in responses] or sorted(responses)
    order += [p for p in sorted(responses) if p not in order]
    return [
        DisplayedResponse(chr(ord("A") + i), p, responses[p].model_name, responses[p].text)
        for i, p in enumerate(order)
    ]


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
        Assignment.objects.filter(campaign=campaign, annotator=annotator, status=AssignmentStatus.SUBMITTED)
        .select_related("instance", "annotation")
        .order_by("-submitted_at", "-id")[:limit]
    )


class InstanceState(models.TextChoices):
    """Whether an item's queue still has room for another human label (leases count)."""

    OPEN = "open", "Has room"
    FULL = "full", "Every slot taken"


def instances_of(*, campaign: Campaign, route: str | None = None, state: str | None = None) -> QuerySet[Instance]:
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
        annotations = annotations.filter(Q(created_at__gte=changed_since) | Q(updated_at__gte=changed_since))
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


# --- issue 17: aggregation policies and adjudication --------------------------------------------


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


def campaign_labels(*, campaign: Campaign, labels: LabelFilter | None = None) -> dict[int, AggregatedLabel]:
    """Every instance's final label under the campaign's aggregation policy (Dawid–Skene
    fitted over all the campaign's votes at once), adjudications included."""
    votes = {item.instance_id: item.votes for item in iter_instances_with_votes(campaign=campaign, labels=labels)}
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
        Adjudication.objects.filter(campaign=campaign, is_current=True).values_list("instance_id", "note")
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
        elif human and majority.winner is not None and any(direction_of(v.overall_preference) != majority.winner for v in llm):
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


def agreement_report(*, campaign: Campaign, tags: dict[int, list[str]] | None = None) -> list[QuestionAgreementT]:
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
        Question.objects.filter(schema_id=campaign.task_schema_id).exclude(kind=QuestionKind.TEXT).order_by("order")
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
        item = (instance_id, position) if question.target == QuestionTarget.EACH_RESPONSE else instance_id
        rater = {"human": f"user:{user_id}", "imported": f"imported:{external}"}.get(source, model)
        key = (q_id, a_id, item)
        entry = collected.setdefault(key, {"item": item, "rater": rater, "source": source, "codes": [], "value": value})
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
        by_question[q_id].append(Rating(item=e["item"], rater=e["rater"], source=e["source"], value=value))
    return [
        question_agreement(
            question=q.key, ratings=by_question[q.pk], ordinal=q.kind != QuestionKind.CHOICES, tags=tags
        )
        for q in questions
    ]
