"""The project manager's dashboard figures: progress by route, throughput, cost, annotators.

Every figure carries what it rests on (a count ``n`` or the counts it is built from), so the
page can say so. Queries are a fixed number whatever the campaign's size: each figure is one
grouped query (see ``tests/annotate/test_dashboard.py``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Sum,
    Window,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, RowNumber, TruncHour
from django.utils import timezone

from annotate.models import (
    Annotation,
    AnnotationSource,
    Assignment,
    AssignmentStatus,
    Campaign,
    CampaignMembership,
    CampaignRole,
    QueueItem,
    QueueItemKind,
    Route,
)
from annotate.selectors import pseudonym_of

# Hourly buckets while the labels span at most this long, daily buckets beyond.
HOURLY_SPAN = dt.timedelta(hours=48)
# The throughput chart shows at most this many (most recent) buckets.
MAX_BUCKETS = 90
CENTS = Decimal("0.01")
MICRO = Decimal("0.000001")


@dataclass(frozen=True)
class RouteProgress:
    """One route's items and their labels.

    For human-routed and unrouted items (both are handed to humans) the unit is a human
    label: ``required`` slots (the items' overlap), ``done`` submitted, ``assigned`` leased
    now, ``remaining`` neither. For LLM-routed items the unit is an item: ``done`` items have
    an LLM label, ``remaining`` have none, and ``assigned`` is None (LLM jobs hold no leases).
    """

    route: str
    label: str
    items: int
    unit: str  # "human labels" or "items"
    required: int
    done: int
    assigned: int | None
    remaining: int


@dataclass(frozen=True)
class ThroughputBucket:
    start: dt.datetime
    human: int
    llm: int


@dataclass(frozen=True)
class Throughput:
    """Labels created per bucket (hour or day, in the site's time zone); a changed answer
    is not counted again. Empty buckets between the first and last label are included."""

    bucket: str  # "hour" or "day"
    buckets: tuple[ThroughputBucket, ...]
    human_total: int
    llm_total: int
    truncated: bool  # True when older buckets were left off (more than MAX_BUCKETS)


@dataclass(frozen=True)
class Cost:
    """Cost so far and projected, each with the counts it rests on.

    Human: ``human_seconds`` (sum of the labels' recorded time, over ``human_timed`` of
    ``human_labels`` labels) × the campaign's hourly rate; None without a rate. Projected:
    the cost per timed label × ``human_labels_remaining`` (slots still unlabelled on items
    humans may get). LLM: sum of ``cost_usd`` over ``llm_costed`` of ``llm_labels`` labels;
    projected: cost per costed label × ``llm_labels_remaining`` (LLM-routed items without an
    LLM label). Tokens are those the chat judges record in each label's raw output.
    """

    hourly_rate_usd: Decimal | None
    human_labels: int
    human_timed: int
    human_seconds: float
    human_cost_usd: Decimal | None
    human_cost_per_label_usd: Decimal | None
    human_labels_remaining: int
    human_projected_usd: Decimal | None
    llm_labels: int
    llm_costed: int
    llm_cost_usd: Decimal
    llm_cost_per_label_usd: Decimal | None
    llm_labels_remaining: int
    llm_projected_usd: Decimal | None
    llm_prompt_tokens: int
    llm_completion_tokens: int
    llm_with_tokens: int


@dataclass(frozen=True)
class ModelUsage:
    model_name: str
    labels: int
    cost_usd: Decimal | None  # None when none of its labels recorded a cost
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class AnnotatorRow:
    """One annotator of the campaign. PMs see the username; exports use the pseudonym."""

    user_id: int
    username: str
    pseudonym: str
    is_member: bool  # an active annotator membership
    labels: int
    timed: int  # labels with a recorded time: what the median rests on
    median_seconds: float | None
    last_activity: dt.datetime | None
    skips: int


@dataclass(frozen=True)
class Dashboard:
    campaign: Campaign
    progress: tuple[RouteProgress, ...]
    throughput: Throughput
    cost: Cost
    models: tuple[ModelUsage, ...]
    annotators: tuple[AnnotatorRow, ...]
    generated_at: dt.datetime


def get_dashboard(*, campaign: Campaign) -> Dashboard:
    """Every dashboard figure of ``campaign``, in a fixed number of queries."""
    progress = get_route_progress(campaign=campaign)
    return Dashboard(
        campaign=campaign,
        progress=progress,
        throughput=get_throughput(campaign=campaign),
        cost=get_cost(campaign=campaign, progress=progress),
        models=get_model_usage(campaign=campaign),
        annotators=get_annotator_rows(campaign=campaign),
        generated_at=timezone.now(),
    )


def get_route_progress(*, campaign: Campaign) -> tuple[RouteProgress, ...]:
    """Human-routed, unrouted and LLM-routed items, in that order (three queries). Only
    regular items count: gold, attention and qualification items are answered by every
    annotator (their overlap is unbounded), so they have no "remaining"; the quality page
    reports them."""
    slots = {
        row["route"]: row
        for row in QueueItem.objects.filter(campaign=campaign, kind=QueueItemKind.REGULAR)
        .values("route")
        .annotate(items=Count("id"), required=Sum("required_overlap"))
        .order_by()
    }
    by_status: dict[tuple[str, str], int] = {
        (row["queue_item__route"], row["status"]): row["n"]
        for row in Assignment.objects.filter(
            campaign=campaign,
            status__in=[AssignmentStatus.SUBMITTED, AssignmentStatus.LEASED],
            queue_item__kind=QueueItemKind.REGULAR,
        )
        .values("queue_item__route", "status")
        .annotate(n=Count("id"))
        .order_by()
    }
    llm_of = Annotation.objects.filter(
        instance=OuterRef("instance_id"), source=AnnotationSource.LLM
    )
    llm_done = (
        QueueItem.objects.filter(campaign=campaign, route=Route.LLM, kind=QueueItemKind.REGULAR)
        .filter(Exists(llm_of))
        .count()
    )
    rows = []
    for route in (Route.HUMAN, Route.UNROUTED):
        row = slots.get(route, {"items": 0, "required": 0})
        done = by_status.get((route, AssignmentStatus.SUBMITTED), 0)
        assigned = by_status.get((route, AssignmentStatus.LEASED), 0)
        required = row["required"] or 0
        rows.append(
            RouteProgress(
                route=route,
                label=Route(route).label,
                items=row["items"],
                unit="human labels",
                required=required,
                done=done,
                assigned=assigned,
                remaining=max(0, required - done - assigned),
            )
        )
    llm_items = slots.get(Route.LLM, {"items": 0})["items"]
    rows.append(
        RouteProgress(
            route=Route.LLM,
            label=Route.LLM.label,
            items=llm_items,
            unit="items",
            required=llm_items,
            done=llm_done,
            assigned=None,
            remaining=max(0, llm_items - llm_done),
        )
    )
    return tuple(rows)


def get_throughput(*, campaign: Campaign, now: dt.datetime | None = None) -> Throughput:
    """Human and LLM labels per hour (labels spanning up to 48 hours) or per day (one query)."""
    counts = (
        Annotation.objects.filter(
            campaign=campaign, source__in=[AnnotationSource.HUMAN, AnnotationSource.LLM]
        )
        .annotate(hour=TruncHour("created_at"))
        .values("hour", "source")
        .annotate(n=Count("id"))
        .order_by("hour")
    )
    per_hour: dict[tuple[dt.datetime, str], int] = {}
    for row in counts:
        hour = timezone.localtime(row["hour"]) if timezone.is_aware(row["hour"]) else row["hour"]
        per_hour[(hour, row["source"])] = row["n"]
    if not per_hour:
        return Throughput(bucket="hour", buckets=(), human_total=0, llm_total=0, truncated=False)
    hours = sorted({hour for hour, _ in per_hour})
    first, last = hours[0], hours[-1]
    bucket = "hour" if last - first <= HOURLY_SPAN else "day"
    step = dt.timedelta(hours=1) if bucket == "hour" else dt.timedelta(days=1)

    def start_of(moment: dt.datetime) -> dt.datetime:
        if bucket == "hour":
            return moment
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)

    folded: dict[dt.datetime, list[int]] = {}
    for (hour, source), n in per_hour.items():
        pair = folded.setdefault(start_of(hour), [0, 0])
        pair[0 if source == AnnotationSource.HUMAN else 1] += n
    buckets = []
    moment = start_of(first)
    end = start_of(last)
    while moment <= end:
        human, llm = folded.get(moment, (0, 0))
        buckets.append(ThroughputBucket(start=moment, human=human, llm=llm))
        # Daily steps are taken in local time and re-normalised, so a DST change keeps midnight.
        moment = (
            start_of(timezone.localtime(moment + step))
            if timezone.is_aware(moment)
            else moment + step
        )
    truncated = len(buckets) > MAX_BUCKETS
    return Throughput(
        bucket=bucket,
        buckets=tuple(buckets[-MAX_BUCKETS:]),
        human_total=sum(b[0] for b in folded.values()),
        llm_total=sum(b[1] for b in folded.values()),
        truncated=truncated,
    )


def _token_sum(key: str) -> Sum:
    return Sum(
        Cast(KeyTextTransform(key, "raw_output"), IntegerField()),
        filter=Q(source=AnnotationSource.LLM, raw_output__has_key=key),
    )


def get_cost(*, campaign: Campaign, progress: tuple[RouteProgress, ...]) -> Cost:
    """Cost so far and projected (one query; ``progress`` gives the labels still to come)."""
    human = Q(source=AnnotationSource.HUMAN)
    llm = Q(source=AnnotationSource.LLM)
    totals = Annotation.objects.filter(campaign=campaign).aggregate(
        human_labels=Count("id", filter=human),
        human_timed=Count("id", filter=human & Q(time_spent_seconds__isnull=False)),
        human_seconds=Sum("time_spent_seconds", filter=human),
        llm_labels=Count("id", filter=llm),
        llm_costed=Count("id", filter=llm & Q(cost_usd__isnull=False)),
        llm_cost=Sum("cost_usd", filter=llm),
        prompt_tokens=_token_sum("prompt_tokens"),
        completion_tokens=_token_sum("completion_tokens"),
        llm_with_tokens=Count("id", filter=llm & Q(raw_output__has_key="prompt_tokens")),
    )
    rate = campaign.human_hourly_rate_usd
    seconds = float(totals["human_seconds"] or 0.0)
    human_cost = None
    per_human = None
    if rate is not None:
        human_cost = (Decimal(str(seconds)) / 3600 * rate).quantize(CENTS, ROUND_HALF_UP)
        if totals["human_timed"]:
            per_human = (Decimal(str(seconds)) / 3600 * rate / totals["human_timed"]).quantize(
                MICRO, ROUND_HALF_UP
            )
    by_route = {row.route: row for row in progress}
    human_remaining = sum(
        row.required - row.done for route, row in by_route.items() if route != Route.LLM
    )
    llm_remaining = by_route[Route.LLM].remaining if Route.LLM in by_route else 0
    llm_cost = Decimal(totals["llm_cost"] or 0)
    per_llm = (
        (llm_cost / totals["llm_costed"]).quantize(MICRO, ROUND_HALF_UP)
        if totals["llm_costed"]
        else None
    )
    return Cost(
        hourly_rate_usd=rate,
        human_labels=totals["human_labels"],
        human_timed=totals["human_timed"],
        human_seconds=seconds,
        human_cost_usd=human_cost,
        human_cost_per_label_usd=per_human,
        human_labels_remaining=max(0, human_remaining),
        human_projected_usd=(
            (per_human * max(0, human_remaining)).quantize(CENTS, ROUND_HALF_UP)
            if per_human is not None
            else None
        ),
        llm_labels=totals["llm_labels"],
        llm_costed=totals["llm_costed"],
        llm_cost_usd=llm_cost.quantize(MICRO, ROUND_HALF_UP),
        llm_cost_per_label_usd=per_llm,
        llm_labels_remaining=llm_remaining,
        llm_projected_usd=(per_llm * llm_remaining).quantize(MICRO, ROUND_HALF_UP)
        if per_llm is not None
        else None,
        llm_prompt_tokens=totals["prompt_tokens"] or 0,
        llm_completion_tokens=totals["completion_tokens"] or 0,
        llm_with_tokens=totals["llm_with_tokens"],
    )


def get_model_usage(*, campaign: Campaign) -> tuple[ModelUsage, ...]:
    """LLM labels, cost and tokens per model name (one query)."""
    rows = (
        Annotation.objects.filter(campaign=campaign, source=AnnotationSource.LLM)
        .values("model_name")
        .annotate(
            labels=Count("id"),
            cost=Sum("cost_usd"),
            prompt_tokens=_token_sum("prompt_tokens"),
            completion_tokens=_token_sum("completion_tokens"),
        )
        .order_by("-labels", "model_name")
    )
    return tuple(
        ModelUsage(
            model_name=row["model_name"],
            labels=row["labels"],
            cost_usd=None
            if row["cost"] is None
            else Decimal(row["cost"]).quantize(MICRO, ROUND_HALF_UP),
            prompt_tokens=row["prompt_tokens"] or 0,
            completion_tokens=row["completion_tokens"] or 0,
        )
        for row in rows
    )


def get_annotator_rows(*, campaign: Campaign) -> tuple[AnnotatorRow, ...]:
    """Every annotator member and everyone who labelled, most labels first (four queries)."""
    human = Annotation.objects.filter(campaign=campaign, source=AnnotationSource.HUMAN)
    labelled = {
        row["annotator_id"]: row
        for row in human.values("annotator_id", "annotator__username")
        .annotate(
            labels=Count("id"),
            timed=Count("id", filter=Q(time_spent_seconds__isnull=False)),
            last=Max(Coalesce("updated_at", "created_at")),
        )
        .order_by()
    }
    members = {
        m.user_id: m.user.username
        for m in CampaignMembership.objects.filter(
            campaign=campaign, role=CampaignRole.ANNOTATOR, is_active=True
        ).select_related("user")
    }
    skips = dict(
        Assignment.objects.filter(campaign=campaign, status=AssignmentStatus.SKIPPED)
        .values("annotator_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("annotator_id", "n")
    )
    medians = _median_seconds(human)
    # Someone who only skipped is in the table too (a skip is activity).
    skip_only = set(skips) - set(labelled) - set(members)
    usernames = (
        dict(
            Assignment.objects.filter(annotator_id__in=skip_only, campaign=campaign)
            .values_list("annotator_id", "annotator__username")
            .distinct()
        )
        if skip_only
        else {}
    )
    rows = []
    for user_id in set(labelled) | set(members) | skip_only:
        stats = labelled.get(user_id)
        username = (
            members.get(user_id)
            or (stats and stats["annotator__username"])
            or usernames.get(user_id, "")
        )
        rows.append(
            AnnotatorRow(
                user_id=user_id,
                username=username,
                pseudonym=pseudonym_of(campaign_id=campaign.pk, user_id=user_id),
                is_member=user_id in members,
                labels=stats["labels"] if stats else 0,
                timed=stats["timed"] if stats else 0,
                median_seconds=medians.get(user_id),
                last_activity=stats["last"] if stats else None,
                skips=skips.get(user_id, 0),
            )
        )
    rows.sort(key=lambda r: (-r.labels, r.username))
    return tuple(rows)


def _median_seconds(human_labels) -> dict[int, float]:
    """Each annotator's median recorded time per label (one query, at most two rows each).

    Rows are numbered per annotator by time; the middle one (or two) are fetched. Works on
    PostgreSQL and SQLite alike.
    """
    timed = human_labels.filter(time_spent_seconds__isnull=False)
    ranked = timed.annotate(
        rank=Window(
            RowNumber(),
            partition_by=[F("annotator_id")],
            order_by=[F("time_spent_seconds").asc(), F("id")],
        ),
        of=Window(Count("id"), partition_by=[F("annotator_id")]),
    )
    # The middle rows: rank = floor((of + 1) / 2) and rank = floor(of / 2) + 1 (the same row
    # when ``of`` is odd). Integer division in SQL.
    middle = ranked.filter(Q(rank=(F("of") + 1) / 2) | Q(rank=F("of") / 2 + 1)).values_list(
        "annotator_id", "time_spent_seconds"
    )
    found: dict[int, list[float]] = {}
    for user_id, seconds in middle:
        found.setdefault(user_id, []).append(seconds)
    return {user_id: sum(values) / len(values) for user_id, values in found.items()}
