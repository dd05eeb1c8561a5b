"""Reads of the queue and of progress: open items (for an annotator too, as SQL for the claim),
what a campaign and an annotator have done, and the responses in an assignment's display order."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet

from annotate.models import (
    Annotation,
    AnnotationSource,
    Assignment,
    AssignmentStatus,
    Campaign,
    CampaignMembership,
    CampaignRole,
    Instance,
    QueueItem,
    Response,
    Route,
)
from annotate.sql_rows import attach_related, columns_of, table_of


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


def open_queue_items_for_sql(
    *, campaign: Campaign, annotator, columns: str = "q.id"
) -> tuple[str, list]:
    """:func:`open_queue_items_for` as a fixed SELECT of ``columns`` (queue items aliased
    ``q``), unordered, with its params: for the hot path's reads, which would otherwise
    build and compile the same ORM query on every request (annotate.sql_rows). Tested to
    select the same rows as the queryset, quality gates included."""
    from annotate.selectors_quality import queue_gate

    gate = queue_gate(
        campaign=campaign,
        annotator=annotator,
        ungated_items=lambda: open_queue_items(campaign=campaign).exclude(
            _not_theirs(annotator=annotator)
        ),
    )
    gate_sql, gate_params = gate.sql("q")
    sql = (
        f"SELECT {columns} FROM {table_of(QueueItem)} q"
        " WHERE q.campaign_id = %s AND q.slots_taken < q.required_overlap AND NOT q.route = %s"
        f" AND NOT EXISTS (SELECT 1 FROM {table_of(Assignment)} u"
        " WHERE u.instance_id = q.instance_id AND u.annotator_id = %s AND NOT u.status = %s)"
        f"{gate_sql}"
    )
    return sql, [
        campaign.pk,
        Route.LLM.value,
        annotator.pk,
        AssignmentStatus.EXPIRED.value,
        *gate_params,
    ]


def get_annotator_progress(*, campaign: Campaign, annotator) -> AnnotatorProgress:
    """The annotator's done and open counts and what remains for them, in one statement (every
    task page shows it: one round trip, and no ORM query compiled)."""
    # Counted up to a cap, so the cost of showing progress does not grow with the campaign.
    remaining_sql, remaining_params = open_queue_items_for_sql(
        campaign=campaign, annotator=annotator
    )
    with connection.cursor() as cursor:
        cursor.execute(
            # The outer table is aliased, so nothing in the remaining count can refer to it.
            "SELECT COALESCE(SUM(CASE WHEN mine.status = %s THEN 1 ELSE 0 END), 0),"
            " COALESCE(SUM(CASE WHEN mine.status = %s THEN 1 ELSE 0 END), 0),"
            f" (SELECT COUNT(*) FROM ({remaining_sql} LIMIT {REMAINING_COUNT_CAP + 1}) AS remaining)"
            f" FROM {table_of(Assignment)} AS mine WHERE mine.campaign_id = %s AND mine.annotator_id = %s",
            [
                AssignmentStatus.SUBMITTED.value,
                AssignmentStatus.LEASED.value,
                *remaining_params,
                campaign.pk,
                annotator.pk,
            ],
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
    """An instance's responses by position. Read on every claim and task page: a fixed
    statement (annotate.sql_rows)."""
    response_cols = columns_of(Response)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {response_cols.select('r')} FROM {table_of(Response)} r WHERE r.instance_id = %s"
            " ORDER BY r.position",
            [instance_id],
        )
        responses = [response_cols.instance(row) for row in cursor.fetchall()]
    return {r.position: r for r in responses}


def own_assignment_with_pool(*, annotator, pk: int) -> Assignment | None:
    """Assignment ``pk`` if it is ``annotator``'s, with its instance and the annotator's pool
    in its campaign (``annotator_pool``, as ``annotator_pool_of_assignment`` annotates it).
    Read on every submit: a fixed statement (annotate.sql_rows)."""
    assignment_cols, instance_cols = columns_of(Assignment), columns_of(Instance)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {assignment_cols.select('a')}, {instance_cols.select('i')},"
            f" (SELECT m.pool FROM {table_of(CampaignMembership)} m WHERE m.campaign_id = a.campaign_id"
            "  AND m.user_id = a.annotator_id AND m.role = %s LIMIT 1)"
            f" FROM {table_of(Assignment)} a INNER JOIN {table_of(Instance)} i ON i.id = a.instance_id"
            " WHERE a.id = %s AND a.annotator_id = %s",
            [CampaignRole.ANNOTATOR.value, pk, annotator.pk],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    assignment = assignment_cols.instance(row)
    attach_related(assignment, "instance", instance_cols.instance(row, len(assignment_cols)))
    assignment.annotator_pool = row[len(assignment_cols) + len(instance_cols)]
    return assignment


def in_display_order(
    *, assignment: Assignment, responses: dict[int, Response]
) -> list[DisplayedResponse]:
    """The instance's responses in the order this annotator sees them."""
    order = [p for p in assignment.display_order if p in responses] or sorted(responses)
    order += [p for p in sorted(responses) if p not in order]
    return [
        DisplayedResponse(chr(ord("A") + i), p, responses[p].model_name, responses[p].text)
        for i, p in enumerate(order)
    ]
