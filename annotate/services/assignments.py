"""Handing instances to annotators under overlap k, with leases that expire.

Each instance has a QueueItem that counts its live assignments (``slots_taken``: open leases
and submissions). Invariants, settled by the database:
- one assignment per (instance, annotator): a unique constraint;
- an item never has more live assignments than its ``required_overlap``: a slot is taken only
  by a conditional UPDATE ``slots_taken < required_overlap`` (and a check constraint);
- a claim reads one row: the first open item in the partial index
  ``queue_item_open_for_humans``, locked with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so
  concurrent claimers take different rows (SQLite serialises writers with BEGIN IMMEDIATE);
- an expired lease gives its slot back exactly once (a conditional LEASED→EXPIRED flip).
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta
from functools import cache

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from annotate.models import (
    Assignment,
    AssignmentStatus,
    Campaign,
    CampaignStatus,
    Instance,
    QueueItem,
    Route,
    SkipReason,
)
from annotate.selectors import open_queue_items_for, open_queue_items_for_sql, responses_by_position
from annotate.sql_rows import attach_related, columns_of, table_of

# How many rounds a contended claim tries before waiting for row locks.
_CLAIM_ATTEMPTS = 5
# How many of the campaign's first open items a claim looks at before it looks further.
_CLAIM_WINDOW = 64
# The advisory-lock key space of claims (a fixed 31-bit tag XORed with the campaign id).
_CLAIM_LOCK_SPACE = 0x436C6169  # "Clai"
# Most stale leases one claim returns to the queue (the rest wait for the next claim).
_SWEEP_LIMIT = 100


class SkipRejected(Exception):
    """The skip cannot be recorded; the message says why."""


def get_current_assignment(*, campaign: Campaign, annotator) -> Assignment | None:
    """The annotator's open lease in this campaign (expired or not), oldest first, with its
    instance. Read on every claim and task page: a fixed statement (annotate.sql_rows)."""
    assignment_cols, instance_cols = columns_of(Assignment), columns_of(Instance)
    with connection.cursor() as cursor:
        cursor.execute(_current_assignment_sql(), [campaign.pk, annotator.pk, AssignmentStatus.LEASED.value])
        row = cursor.fetchone()
    if row is None:
        return None
    assignment = assignment_cols.instance(row)
    attach_related(assignment, "instance", instance_cols.instance(row, len(assignment_cols)))
    return assignment


@cache
def _current_assignment_sql() -> str:
    """The read of :func:`get_current_assignment` (params: campaign id, annotator id, LEASED);
    its ORDER BY is the ``(campaign, annotator, status)`` lookup's, oldest lease first."""
    return (
        f"SELECT {columns_of(Assignment).select('a')}, {columns_of(Instance).select('i')}"
        f" FROM {table_of(Assignment)} a INNER JOIN {table_of(Instance)} i ON i.id = a.instance_id"
        " WHERE a.campaign_id = %s AND a.annotator_id = %s AND a.status = %s"
        " ORDER BY a.leased_at ASC, a.id ASC LIMIT 1"
    )


def _holds_a_lease(*, campaign: Campaign, annotator) -> bool:
    """Whether the annotator has an open lease in this campaign (the rows of
    :func:`get_current_assignment`)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {table_of(Assignment)} WHERE campaign_id = %s AND annotator_id = %s AND status = %s LIMIT 1",
            [campaign.pk, annotator.pk, AssignmentStatus.LEASED.value],
        )
        return cursor.fetchone() is not None


def claim_next_assignment(
    *, campaign: Campaign, annotator, now: datetime | None = None
) -> Assignment | None:
    """Return the annotator's open assignment, or lease them a new item; None when done.

    Items with the highest priority come first, then those closest to their overlap (so items
    finish before new ones start), then the oldest. Items routed to the LLM are never handed out.
    """
    now = now or timezone.now()
    current = get_current_assignment(campaign=campaign, annotator=annotator)
    if current is not None:
        _renew_lease(assignment=current, campaign=campaign, now=now)
        return current
    if campaign.status != CampaignStatus.ACTIVE or campaign.is_locked:
        return None
    return_expired_slots(campaign=campaign, now=now)
    # A qualification test finished by a skip is decided here (a submit decides it too).
    from annotate.services.quality import decide_qualification_if_complete

    decide_qualification_if_complete(campaign=campaign, annotator=annotator, now=now)
    for attempt in range(_CLAIM_ATTEMPTS):
        try:
            assignment = _take_open_item(campaign=campaign, annotator=annotator, now=now, wait=False)
        except IntegrityError:
            # The same annotator claimed in two tabs at once; the other tab's lease stands.
            current = get_current_assignment(campaign=campaign, annotator=annotator)
            if current is not None:
                return current
            continue
        if assignment is not None:
            return assignment
        # Every open item may have been locked by concurrent claimers (skipped, not waited
        # for); look again only while some item still has room.
        if not _open_items(campaign=campaign, annotator=annotator).exists():
            return None
        time.sleep(0.02 * (attempt + 1))
    # Still contended (a loaded machine holds locks longer): wait for a lock instead of
    # reporting "nothing to do" while an item has room.
    try:
        return _take_open_item(campaign=campaign, annotator=annotator, now=now, wait=True)
    except IntegrityError:
        return get_current_assignment(campaign=campaign, annotator=annotator)


def _renew_lease(*, assignment: Assignment, campaign: Campaign, now: datetime) -> None:
    expires = now + timedelta(minutes=campaign.lease_minutes)
    # Conditional: a lease a sweep has just expired is not revived.
    Assignment.objects.filter(pk=assignment.pk, status=AssignmentStatus.LEASED).update(
        lease_expires_at=expires
    )
    assignment.lease_expires_at = expires


def _open_items(*, campaign: Campaign, annotator):
    return open_queue_items_for(campaign=campaign, annotator=annotator)


def _take_open_item(*, campaign: Campaign, annotator, now: datetime, wait: bool) -> Assignment | None:
    # One transaction: the locked row, the slot and the assignment commit together.
    with transaction.atomic():
        # Two tabs of one annotator claiming at once would lock two different items (SKIP
        # LOCKED) and lease both: their claims in this campaign take turns, and the later one
        # returns the lease the first made.
        _lock_claims_of(campaign=campaign, annotator=annotator)
        # Usually there is none (the caller has just looked): asked as a bare EXISTS, whose
        # query is a third of the full read's cost to build.
        if _holds_a_lease(campaign=campaign, annotator=annotator):
            return get_current_assignment(campaign=campaign, annotator=annotator)
        item = _first_open_item(campaign=campaign, annotator=annotator, wait=wait)
        if item is None:
            return None
        # Conditional UPDATE: a slot is taken only while one is free.
        took = QueueItem.objects.filter(pk=item.pk, slots_taken__lt=F("required_overlap")).update(
            slots_taken=F("slots_taken") + 1
        )
        if took != 1:
            return None
        expires = now + timedelta(minutes=campaign.lease_minutes)
        if item.theirs_expired:
            # Their own earlier lease comes back with its draft and display order.
            reopened = Assignment.objects.filter(
                instance_id=item.instance_id, annotator=annotator, status=AssignmentStatus.EXPIRED
            ).update(status=AssignmentStatus.LEASED, leased_at=now, lease_expires_at=expires)
            if reopened != 1:
                # Another tab's late submit or autosave retook it meanwhile (with its own
                # slot): this claim's slot must not count as well.
                transaction.set_rollback(True)
                return None
            return Assignment.objects.select_related("instance").get(
                instance_id=item.instance_id, annotator=annotator
            )
        # A new lease is shown right away: its display order and first-shown time are decided
        # here, and the responses read for that ride along for the page.
        responses = responses_by_position(instance_id=item.instance_id)
        assignment = Assignment.objects.create(
            campaign=campaign,
            instance=item.instance,
            queue_item=item,
            annotator=annotator,
            status=AssignmentStatus.LEASED,
            leased_at=now,
            lease_expires_at=expires,
            opened_at=now,
            display_order=display_order_for(campaign=campaign, positions=sorted(responses)),
        )
        assignment.responses_by_position = responses
        return assignment


def _lock_claims_of(*, campaign: Campaign, annotator) -> None:
    """Hold, until the transaction ends, the lock that one annotator's claims in one campaign
    take in turn (a PostgreSQL advisory lock; SQLite's BEGIN IMMEDIATE serialises all writers)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s::integer, %s::integer)",
            [_CLAIM_LOCK_SPACE ^ (campaign.pk & 0x7FFFFFFF), annotator.pk & 0x7FFFFFFF],
        )


def _first_open_item(*, campaign: Campaign, annotator, wait: bool) -> QueueItem | None:
    """The first of the annotator's open items in hand-out order, locked (skipping rows other
    claims hold unless ``wait``), read in a way whose cost does not grow with the annotator's
    own history.

    An annotator far ahead of the others has submitted many items still waiting for their
    other overlap slots: those come first in hand-out order and are not theirs to take, so a
    plain scan would step over all of them. Instead: the first items of the campaign's open
    list (a fixed window); if all are theirs, the first untouched item (no slot taken, which
    their own work never is); only then the plain scan, so an open item is never missed.
    Every read is a fixed statement (annotate.sql_rows), tested to pick what the ORM's
    ``open_queue_items_for`` would.
    """
    # The window's ids are read first, as a list, and its rows sorted by an expression the
    # open-items index cannot serve: either way (``pk IN (SELECT ... LIMIT 64)``, or the list
    # under the index's own ORDER BY), PostgreSQL walked the campaign's whole open list in
    # index order whenever the window held only the annotator's own items: 260 ms a claim
    # at 10,000 items, growing with the campaign (bench/bench_load.py, issue 18). This way it
    # fetches the 64 rows by primary key and sorts them: the same order, whatever the size.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT q.id FROM {table_of(QueueItem)} q"
            " WHERE q.campaign_id = %s AND q.slots_taken < q.required_overlap AND NOT q.route = %s"
            " ORDER BY q.priority DESC, q.slots_taken DESC, q.id ASC"
            f" LIMIT {_CLAIM_WINDOW}",
            [campaign.pk, Route.LLM.value],
        )
        window = [row[0] for row in cursor.fetchall()]
    if not window:
        return None
    # The open-items statement (with the quality gate, whose settings it reads) is built once
    # per claim and narrowed three ways.
    candidates = _open_items_statement(campaign=campaign, annotator=annotator)
    in_window = f"q.id IN ({', '.join(['%s'] * len(window))})"
    return (
        _first_open_item_where(candidates, where=in_window, params=window, order=_WINDOW_ORDER, wait=wait)
        # Rarer (an annotator ahead of the others), but then on every claim: fixed statements too.
        or _first_open_item_where(candidates, where="q.slots_taken = 0", params=[], order=_HAND_OUT_ORDER, wait=wait)
        or _first_open_item_where(candidates, where="TRUE", params=[], order=_HAND_OUT_ORDER, wait=wait)
    )


# Hand-out order (``open_queue_items``, the partial index ``queue_item_open_for_humans``); the
# window's rows are sorted by an expression the index cannot serve (see ``_first_open_item``).
_HAND_OUT_ORDER = "q.priority DESC, q.slots_taken DESC, q.id ASC"
_WINDOW_ORDER = "q.priority DESC, (q.slots_taken + 0) DESC, q.id ASC"


def _open_items_statement(*, campaign: Campaign, annotator) -> tuple[str, list]:
    """The annotator's open items (``open_queue_items_for``) as a SELECT of the queue item's
    columns, ``theirs_expired`` (whether the annotator's own expired lease is on it) and the
    instance's columns, unordered, with its params."""
    item_cols, instance_cols = columns_of(QueueItem), columns_of(Instance)
    open_sql, open_params = open_queue_items_for_sql(
        campaign=campaign,
        annotator=annotator,
        columns=(
            f"{item_cols.select('q')}, EXISTS(SELECT 1 FROM {table_of(Assignment)} x WHERE x.instance_id = q.instance_id"
            f" AND x.annotator_id = %s AND x.status = %s), {instance_cols.select('i')}"
        ),
    )
    # The columns' params come before the WHERE clause's; the instance joins after FROM.
    open_sql = open_sql.replace(
        f" FROM {table_of(QueueItem)} q", f" FROM {table_of(QueueItem)} q INNER JOIN {table_of(Instance)} i ON i.id = q.instance_id", 1
    )
    return open_sql, [annotator.pk, AssignmentStatus.EXPIRED.value, *open_params]


def _first_open_item_where(
    statement: tuple[str, list], *, where: str, params: list, order: str, wait: bool
) -> QueueItem | None:
    """The first, in ``order``, of the rows of ``statement`` (``_open_items_statement``) that
    also satisfy ``where``, locked as read (skipping rows other claims hold unless ``wait``)."""
    open_sql, open_params = statement
    item_cols, instance_cols = columns_of(QueueItem), columns_of(Instance)
    lock = ""
    if connection.features.has_select_for_update:
        lock = " FOR UPDATE OF q" + ("" if wait else " SKIP LOCKED")
    with connection.cursor() as cursor:
        cursor.execute(f"{open_sql} AND {where} ORDER BY {order} LIMIT 1{lock}", [*open_params, *params])
        row = cursor.fetchone()
    if row is None:
        return None
    item = item_cols.instance(row)
    item.theirs_expired = bool(row[len(item_cols)])
    attach_related(item, "instance", instance_cols.instance(row, len(item_cols) + 1))
    return item


def display_order_for(*, campaign: Campaign, positions: list[int]) -> list[int]:
    """The order to show an item's responses in: shuffled when the campaign asks for it."""
    order = list(positions)
    if campaign.randomize_response_order:
        random.shuffle(order)
    return order


def return_expired_slots(*, campaign: Campaign, now: datetime | None = None) -> int:
    """Mark the campaign's leases past their expiry EXPIRED and give their slots back.

    Returns how many were returned. Safe under concurrency: each lease is flipped by a
    conditional UPDATE, so its slot is given back once.
    """
    now = now or timezone.now()
    # Every claim sweeps first: its read is a fixed statement (annotate.sql_rows), not an ORM
    # query compiled per request; the flips below are rare.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, queue_item_id FROM {table_of(Assignment)}"
            " WHERE campaign_id = %s AND status = %s AND lease_expires_at <= %s"
            f" LIMIT {_SWEEP_LIMIT}",
            [campaign.pk, AssignmentStatus.LEASED.value, connection.ops.adapt_datetimefield_value(now)],
        )
        stale = cursor.fetchall()
    returned = 0
    for pk, item_id in stale:
        # One transaction per lease: the flip and the slot's return commit together.
        with transaction.atomic():
            flipped = Assignment.objects.filter(
                pk=pk, status=AssignmentStatus.LEASED, lease_expires_at__lte=now
            ).update(status=AssignmentStatus.EXPIRED)
            if flipped:
                QueueItem.objects.filter(pk=item_id).update(slots_taken=F("slots_taken") - 1)
                returned += 1
    return returned


def retake_expired_slot(*, assignment: Assignment, now: datetime | None = None) -> bool:
    """Give an expired lease back to its annotator if its item still has a free slot.

    A late annotator keeps their item unless someone else has taken the slot meanwhile.
    """
    now = now or timezone.now()
    expires = now + timedelta(minutes=assignment.campaign.lease_minutes)
    # One transaction: the slot is taken only together with the lease it belongs to.
    with transaction.atomic():
        took = QueueItem.objects.filter(
            pk=assignment.queue_item_id, slots_taken__lt=F("required_overlap")
        ).update(slots_taken=F("slots_taken") + 1)
        if took != 1:
            return False
        reopened = Assignment.objects.filter(pk=assignment.pk, status=AssignmentStatus.EXPIRED).update(
            status=AssignmentStatus.LEASED, lease_expires_at=expires
        )
        if reopened != 1:
            transaction.set_rollback(True)
            return False
    assignment.status = AssignmentStatus.LEASED
    assignment.lease_expires_at = expires
    return True


def skip_assignment(
    *, assignment_id: int, annotator, reason: SkipReason, note: str = ""
) -> Assignment:
    """The annotator passes on their open item (and may flag it); its slot goes back to the
    queue and they are not asked again. Idempotent for an already skipped item."""
    assignment = Assignment.objects.filter(pk=assignment_id, annotator=annotator).first()
    if assignment is None:
        raise SkipRejected("This item is not assigned to you.")
    if reason not in SkipReason.values:
        raise SkipRejected(f'"{reason}" is not a skip reason.')
    if assignment.status == AssignmentStatus.SKIPPED:
        return assignment
    skipped = {"status": AssignmentStatus.SKIPPED, "skip_reason": reason, "skip_note": note[:500], "draft": {}}
    # One transaction: the status flip and the returned slot commit together. Each flip is
    # conditional on the status it read, so a concurrent sweep never gets the slot back twice.
    with transaction.atomic():
        if Assignment.objects.filter(pk=assignment.pk, status=AssignmentStatus.LEASED).update(**skipped):
            QueueItem.objects.filter(pk=assignment.queue_item_id).update(slots_taken=F("slots_taken") - 1)
        elif not Assignment.objects.filter(pk=assignment.pk, status=AssignmentStatus.EXPIRED).update(**skipped):
            raise SkipRejected("This item was already submitted; it can be edited, not skipped.")
    assignment.refresh_from_db()
    return assignment


def mark_opened(*, assignment: Assignment, positions: list[int], now: datetime | None = None) -> None:
    """Record (once) when the item was first shown to its annotator, by the server's clock,
    and the order its responses are shown in (``positions``: the instance's responses)."""
    changes: dict = {}
    if assignment.opened_at is None:
        changes["opened_at"] = now or timezone.now()
    if not assignment.display_order:
        # Only an open lease gets a fresh (maybe shuffled) order; an item answered before
        # orders were recorded was shown in row order, and is shown so again.
        shuffle = assignment.status == AssignmentStatus.LEASED
        changes["display_order"] = (
            display_order_for(campaign=assignment.campaign, positions=positions) if shuffle else sorted(positions)
        )
    if not changes:
        return
    only_if = Q(pk=assignment.pk)
    if "display_order" in changes:
        # Conditional: of two first displays at once, one order is recorded and both show it.
        only_if &= Q(display_order=[])
    if Assignment.objects.filter(only_if).update(**changes):
        for name, value in changes.items():
            setattr(assignment, name, value)
    else:
        assignment.refresh_from_db(fields=["display_order", "opened_at"])
