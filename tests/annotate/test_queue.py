"""The human queue: a claim takes one slot of one queue item, expired leases give theirs
back, skips free it for good, LLM-routed items never reach humans, and the claim's cost does
not grow with the campaign."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from annotate.models import Annotation, Assignment, AssignmentStatus, QueueItem, Route, SkipReason
from annotate.services.annotations import submit_annotation
from annotate.services.assignments import (
    claim_next_assignment,
    return_expired_slots,
    skip_assignment,
)
from tests.conftest import build_campaign, is_postgres, make_user, pairwise_answers


def _submitted_by(campaign, annotators, items):
    """Each of ``annotators`` has submitted each of ``items`` (a slot each), as claims would have."""
    now = timezone.now()
    Assignment.objects.bulk_create(
        Assignment(
            campaign=campaign, instance_id=item.instance_id, queue_item=item, annotator=person,
            status=AssignmentStatus.SUBMITTED, leased_at=now, lease_expires_at=now, submitted_at=now,
        )
        for item in items
        for person in annotators
    )
    QueueItem.objects.filter(pk__in=[item.pk for item in items]).update(slots_taken=len(annotators))


def test_every_imported_instance_gets_a_queue_item_with_the_campaign_overlap(pm):
    campaign = build_campaign(pm=pm, n_instances=3, overlap=2)
    items = QueueItem.objects.filter(campaign=campaign)
    assert items.count() == 3
    assert {(q.required_overlap, q.slots_taken, q.route) for q in items} == {(2, 0, Route.UNROUTED)}


def test_a_claim_takes_one_slot_and_a_submission_keeps_it(campaign, annotator):
    assignment = claim_next_assignment(campaign=campaign, annotator=annotator)
    assert assignment.queue_item.instance_id == assignment.instance_id
    assert QueueItem.objects.get(pk=assignment.queue_item_id).slots_taken == 1
    submit_annotation(assignment_id=assignment.pk, annotator=annotator, answers=pairwise_answers(0))
    assert QueueItem.objects.get(pk=assignment.queue_item_id).slots_taken == 1


def test_an_expired_lease_gives_its_slot_back_once(pm):
    slow, fast = make_user("slow"), make_user("fast")
    campaign = build_campaign(pm=pm, annotators=[slow, fast], n_instances=1, lease_minutes=5)
    stale = claim_next_assignment(campaign=campaign, annotator=slow)
    later = timezone.now() + timedelta(minutes=6)
    assert return_expired_slots(campaign=campaign, now=later) == 1
    assert return_expired_slots(campaign=campaign, now=later) == 0
    assert QueueItem.objects.get(pk=stale.queue_item_id).slots_taken == 0
    taken = claim_next_assignment(campaign=campaign, annotator=fast, now=later)
    assert taken.instance_id == stale.instance_id
    assert QueueItem.objects.get(pk=stale.queue_item_id).slots_taken == 1


def test_a_late_submission_retakes_a_slot_nobody_took(pm):
    slow = make_user("slow")
    campaign = build_campaign(pm=pm, annotators=[slow], n_instances=1, lease_minutes=5)
    stale = claim_next_assignment(campaign=campaign, annotator=slow)
    return_expired_slots(campaign=campaign, now=timezone.now() + timedelta(minutes=6))
    outcome = submit_annotation(assignment_id=stale.pk, annotator=slow, answers=pairwise_answers(1))
    assert outcome.created
    assert QueueItem.objects.get(pk=stale.queue_item_id).slots_taken == 1


def test_a_skip_frees_the_slot_records_the_reason_and_is_not_asked_again(pm):
    first, second = make_user("first"), make_user("second")
    campaign = build_campaign(pm=pm, annotators=[first, second], n_instances=1)
    assignment = claim_next_assignment(campaign=campaign, annotator=first)
    skipped = skip_assignment(
        assignment_id=assignment.pk, annotator=first, reason=SkipReason.BROKEN, note="response B is cut off"
    )
    assert (skipped.status, skipped.skip_reason, skipped.is_flagged) == (AssignmentStatus.SKIPPED, "broken", True)
    assert QueueItem.objects.get(pk=assignment.queue_item_id).slots_taken == 0
    assert claim_next_assignment(campaign=campaign, annotator=first) is None
    assert claim_next_assignment(campaign=campaign, annotator=second).instance_id == assignment.instance_id


def test_items_routed_to_the_llm_never_reach_annotators(campaign, annotator):
    QueueItem.objects.filter(campaign=campaign).update(route=Route.LLM)
    assert claim_next_assignment(campaign=campaign, annotator=annotator) is None


def test_higher_priority_items_are_handed_out_first(campaign, annotator):
    last = QueueItem.objects.filter(campaign=campaign).order_by("-id").first()
    QueueItem.objects.filter(pk=last.pk).update(priority=10)
    assert claim_next_assignment(campaign=campaign, annotator=annotator).queue_item_id == last.pk


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_annotators_never_exceed_overlap_two(pm):
    if not is_postgres():
        pytest.skip("needs concurrent writers on PostgreSQL; CI runs this")
    people = [make_user(f"c{i}") for i in range(20)]
    campaign = build_campaign(pm=pm, annotators=people, n_instances=15, overlap=2)
    barrier = threading.Barrier(len(people))
    errors: list[BaseException] = []

    def work(person):
        try:
            barrier.wait()
            while (assignment := claim_next_assignment(campaign=campaign, annotator=person)) is not None:
                submit_annotation(assignment_id=assignment.pk, annotator=person, answers=pairwise_answers(-1))
                # A double submit from a flaky connection counts once.
                submit_annotation(assignment_id=assignment.pk, annotator=person, answers=pairwise_answers(-1))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(p,)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    per_instance = Counter(Annotation.objects.filter(campaign=campaign).values_list("instance_id", flat=True))
    assert set(per_instance.values()) == {2} and len(per_instance) == 15
    assert Annotation.objects.count() == Assignment.objects.filter(status=AssignmentStatus.SUBMITTED).count() == 30
    assert set(QueueItem.objects.filter(campaign=campaign).values_list("slots_taken", flat=True)) == {2}


@pytest.mark.slow
def test_the_claim_reads_the_open_items_index_at_twenty_thousand_instances(pm, annotator):
    if not is_postgres():
        pytest.skip("the plan check is PostgreSQL's")
    from annotate.services.assignments import _open_items
    from annotate.services.imports import import_instances
    from tests.conftest import pairwise_rows

    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=0, overlap=2)
    for chunk in range(4):
        import_instances(campaign=campaign, data=pairwise_rows(5000, prefix=f"c{chunk}"), file_format="generic")
    # The first 8,000 items are full: two other annotators submitted each.
    full = list(QueueItem.objects.filter(campaign=campaign).order_by("id")[:8000])
    _submitted_by(campaign, [make_user("busy1"), make_user("busy2")], full)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE annotate_queueitem")
        cursor.execute("ANALYZE annotate_assignment")
    plan = _open_items(campaign=campaign, annotator=annotator)[:1].explain(format="text", analyze=True)
    assert "queue_item_open_for_humans" in plan, plan
    assert "Seq Scan on annotate_queueitem" not in plan, plan

    # The claim itself reads through fixed statements (annotate.sql_rows): none of them may
    # scan the queue table either, and the next item is found.
    from django.test.utils import CaptureQueriesContext

    from annotate.services.assignments import claim_next_assignment

    with CaptureQueriesContext(connection) as queries:
        claimed = claim_next_assignment(campaign=campaign, annotator=annotator)
    assert claimed is not None and claimed.queue_item_id not in {item.pk for item in full}
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT") and "annotate_queueitem" in q["sql"]]
    assert len(reads) >= 2, reads  # the window's ids, then the first of them that is theirs
    for sql in reads:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {sql}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "Seq Scan on annotate_queueitem" not in plan, (sql, plan)


def test_an_annotator_far_ahead_of_the_others_gets_an_untouched_item(pm):
    """Their own half-filled items (waiting for a second annotator) fill the head of the queue;
    the claim looks past that window instead of stepping over every one of them."""
    ahead = make_user("ahead")
    campaign = build_campaign(pm=pm, annotators=[ahead], n_instances=0, overlap=2)
    from annotate.services.imports import import_instances
    from tests.conftest import pairwise_rows

    import_instances(campaign=campaign, data=pairwise_rows(150), file_format="generic")
    items = list(QueueItem.objects.filter(campaign=campaign).order_by("id"))
    _submitted_by(campaign, [ahead], items[:120])
    assignment = claim_next_assignment(campaign=campaign, annotator=ahead)
    assert assignment.queue_item_id == items[120].pk


def test_beyond_the_window_a_half_filled_item_of_others_is_still_found(pm):
    ahead, other = make_user("ahead"), make_user("other")
    campaign = build_campaign(pm=pm, annotators=[ahead, other], n_instances=0, overlap=2)
    from annotate.services.imports import import_instances
    from tests.conftest import pairwise_rows

    import_instances(campaign=campaign, data=pairwise_rows(100), file_format="generic")
    items = list(QueueItem.objects.filter(campaign=campaign).order_by("id"))
    _submitted_by(campaign, [ahead], items[:99])  # no untouched item left
    _submitted_by(campaign, [other], items[99:])  # the last one waits for a second annotator
    assert claim_next_assignment(campaign=campaign, annotator=ahead).queue_item_id == items[99].pk
