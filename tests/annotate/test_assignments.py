"""Assignment under overlap, leases and concurrency."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from annotate.models import Assignment, AssignmentStatus
from annotate.services.assignments import claim_next_assignment
from tests.conftest import build_campaign, is_postgres, make_user


def test_database_allows_one_assignment_per_instance_and_annotator(campaign, annotator):
    first = claim_next_assignment(campaign=campaign, annotator=annotator)
    with pytest.raises(IntegrityError), transaction.atomic():
        Assignment.objects.create(
            campaign=campaign,
            instance=first.instance,
            annotator=annotator,
            leased_at=timezone.now(),
            lease_expires_at=timezone.now(),
            status=AssignmentStatus.SUBMITTED,
        )


def test_claiming_twice_returns_the_same_open_assignment(campaign, annotator):
    first = claim_next_assignment(campaign=campaign, annotator=annotator)
    again = claim_next_assignment(campaign=campaign, annotator=annotator)
    assert again.pk == first.pk
    assert Assignment.objects.filter(annotator=annotator).count() == 1


def test_overlap_one_gives_two_annotators_different_instances(campaign, annotator, second_annotator):
    first = claim_next_assignment(campaign=campaign, annotator=annotator)
    second = claim_next_assignment(campaign=campaign, annotator=second_annotator)
    assert first.instance_id != second.instance_id


def test_overlap_two_sends_the_same_instance_to_two_annotators_then_moves_on(pm, db):
    people = [make_user(f"a{i}") for i in range(3)]
    campaign = build_campaign(pm=pm, annotators=people, n_instances=3, overlap=2)
    claims = [claim_next_assignment(campaign=campaign, annotator=p) for p in people]
    assert claims[0].instance_id == claims[1].instance_id
    assert claims[2].instance_id != claims[0].instance_id


def test_an_expired_lease_returns_the_item_to_the_queue(pm, db):
    people = [make_user(f"a{i}") for i in range(2)]
    campaign = build_campaign(pm=pm, annotators=people, n_instances=1, lease_minutes=30)
    stale = claim_next_assignment(campaign=campaign, annotator=people[0])
    assert claim_next_assignment(campaign=campaign, annotator=people[1]) is None

    later = timezone.now() + timedelta(minutes=31)
    taken_over = claim_next_assignment(campaign=campaign, annotator=people[1], now=later)

    assert taken_over.instance_id == stale.instance_id
    stale.refresh_from_db()
    assert stale.status == AssignmentStatus.EXPIRED


def test_annotator_gets_nothing_when_every_instance_is_done_or_taken(campaign, annotator):
    seen = set()
    for _ in range(4):
        assignment = claim_next_assignment(campaign=campaign, annotator=annotator)
        seen.add(assignment.instance_id)
        Assignment.objects.filter(pk=assignment.pk).update(status=AssignmentStatus.SUBMITTED)
    assert len(seen) == 4
    assert claim_next_assignment(campaign=campaign, annotator=annotator) is None


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_never_exceed_the_overlap(pm):
    if not is_postgres():
        pytest.skip("row locks (SELECT … FOR UPDATE SKIP LOCKED) are PostgreSQL's; CI runs this")
    people = [make_user(f"racer{i}") for i in range(8)]
    campaign = build_campaign(pm=pm, annotators=people, n_instances=3, overlap=2)
    barrier = threading.Barrier(len(people))
    errors: list[BaseException] = []

    def claim(person):
        try:
            barrier.wait()
            claim_next_assignment(campaign=campaign, annotator=person)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(p,)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not errors
    per_instance = {}
    for a in Assignment.objects.filter(campaign=campaign):
        per_instance[a.instance_id] = per_instance.get(a.instance_id, 0) + 1
    assert max(per_instance.values()) <= 2
    assert sum(per_instance.values()) == 6  # 3 instances × overlap 2; two people get nothing
