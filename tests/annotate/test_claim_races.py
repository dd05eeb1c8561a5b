"""Claims racing on PostgreSQL, with real threads (each its own connection): the same annotator
claiming twice at once ends with one lease, and of two annotators racing for the last slot one
gets it and the other hears "nothing left" only when nothing is left."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from annotate.models import Assignment, AssignmentStatus, QueueItem
from annotate.services.assignments import claim_next_assignment
from tests.conftest import build_campaign, is_postgres, make_user

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not is_postgres(), reason="needs concurrent writers on PostgreSQL"),
]

ROUNDS = 8


def claim_at_once(campaign, people) -> list:
    """Each of ``people`` (a person may appear twice: two tabs) claims at the same moment, in
    its own thread; their results in order."""
    barrier = threading.Barrier(len(people))
    results: list = [None] * len(people)
    errors: list[BaseException] = []

    def claim(index, person):
        try:
            barrier.wait()
            results[index] = claim_next_assignment(campaign=campaign, annotator=person)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(i, p)) for i, p in enumerate(people)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


def test_the_same_annotator_claiming_in_two_tabs_at_once_holds_one_lease(pm):
    people = [make_user(f"tabs{i}") for i in range(ROUNDS)]
    campaign = build_campaign(pm=pm, annotators=people, n_instances=6, overlap=ROUNDS)
    for person in people:
        first, second = claim_at_once(campaign, [person, person])

        leases = Assignment.objects.filter(annotator=person, status=AssignmentStatus.LEASED)
        assert leases.count() == 1, f"{person}: {list(leases.values_list('instance_id', flat=True))}"
        assert first.pk == second.pk == leases.get().pk
    taken = sum(QueueItem.objects.filter(campaign=campaign).values_list("slots_taken", flat=True))
    assert taken == Assignment.objects.filter(campaign=campaign).count() == ROUNDS


def test_of_two_annotators_racing_for_the_last_slot_one_gets_it_and_the_other_hears_nothing_left(pm):
    for round_ in range(ROUNDS):
        first, second = make_user(f"a{round_}"), make_user(f"b{round_}")
        campaign = build_campaign(
            pm=pm, annotators=[first, second], n_instances=1, overlap=1, name=f"Last slot {round_}"
        )
        results = claim_at_once(campaign, [first, second])

        assert sorted(result is None for result in results) == [False, True], results
        assert QueueItem.objects.get(campaign=campaign).slots_taken == 1


def test_two_annotators_racing_for_an_item_with_two_free_slots_both_get_it(pm):
    for round_ in range(ROUNDS):
        first, second = make_user(f"c{round_}"), make_user(f"d{round_}")
        campaign = build_campaign(
            pm=pm, annotators=[first, second], n_instances=1, overlap=2, name=f"Two slots {round_}"
        )
        results = claim_at_once(campaign, [first, second])

        assert None not in results, f"round {round_}: an empty answer while the item had room"
        assert results[0].instance_id == results[1].instance_id
        assert QueueItem.objects.get(campaign=campaign).slots_taken == 2
