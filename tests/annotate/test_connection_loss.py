"""A database connection killed in the middle of a submit (pg_terminate_backend from another
connection, as a restart or failover would): nothing of the submit is stored, the annotator gets
a clean retryable answer (503 with Retry-After, not a 500), and sending it again stores it once."""

from __future__ import annotations

import pytest
from django.db import OperationalError, connection
from django.urls import reverse

from annotate.models import Annotation, AnswerValue, Assignment, AssignmentStatus, QueueItem
from annotate.services import annotations as annotations_service
from annotate.services.annotations import submit_annotation
from annotate.services.assignments import claim_next_assignment
from tests.annotate.test_job_recovery import terminate_own_backend
from tests.conftest import (
    HTMX,
    build_campaign,
    is_postgres,
    logged_in,
    make_user,
    pairwise_answers,
    simple_pairwise_post,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not is_postgres(), reason="terminates a PostgreSQL backend"),
]


@pytest.fixture
def connection_killed_mid_submit(monkeypatch):
    """The next submit loses its connection after its label row is written and before its
    answers are: the most half-written moment of the transaction. Once only."""
    attach = annotations_service._attach
    kills = []

    def attach_after_losing_the_connection(*args, **kwargs):
        if not kills:
            kills.append(True)
            terminate_own_backend()
        return attach(*args, **kwargs)

    monkeypatch.setattr(annotations_service, "_attach", attach_after_losing_the_connection)
    return kills


def nothing_stored_for(assignment) -> bool:
    assignment.refresh_from_db()
    return (
        assignment.status == AssignmentStatus.LEASED
        and not Annotation.objects.filter(assignment=assignment).exists()
        and not AnswerValue.objects.filter(annotation__assignment=assignment).exists()
        and QueueItem.objects.get(pk=assignment.queue_item_id).slots_taken == 1
    )


def test_a_submit_whose_connection_is_killed_stores_nothing_and_stores_once_when_retried(
    connection_killed_mid_submit,
):
    annotator = make_user("ann")
    campaign = build_campaign(pm=make_user("pm"), annotators=[annotator], n_instances=2)
    assignment = claim_next_assignment(campaign=campaign, annotator=annotator)

    with pytest.raises(OperationalError):
        submit_annotation(assignment_id=assignment.pk, annotator=annotator, answers=pairwise_answers(-2))

    connection.close()  # as Django does at the end of the failed request
    assert nothing_stored_for(assignment)
    outcome = submit_annotation(assignment_id=assignment.pk, annotator=annotator, answers=pairwise_answers(-2))
    assert outcome.created
    assert Annotation.objects.filter(assignment=assignment).count() == 1
    assert QueueItem.objects.get(pk=assignment.queue_item_id).slots_taken == 1


def test_the_page_answers_a_killed_connection_with_a_retryable_503_and_the_resend_is_saved(
    connection_killed_mid_submit,
):
    annotator = make_user("ann")
    campaign = build_campaign(pm=make_user("pm"), annotators=[annotator], n_instances=2)
    client = logged_in(annotator)
    client.post(reverse("label_claim", args=[campaign.slug]), **HTMX)
    assignment = Assignment.objects.get(annotator=annotator, status=AssignmentStatus.LEASED)
    submit = reverse("submit_label", args=[campaign.slug, assignment.pk])

    lost = client.post(submit, simple_pairwise_post(), **HTMX)

    assert lost.status_code == 503
    assert lost["Retry-After"] == "2"
    assert "send it again" in lost.content.decode() and "terminat" not in lost.content.decode()
    assert nothing_stored_for(assignment)
    resent = client.post(submit, simple_pairwise_post(), **HTMX)
    assert resent.status_code == 200 and "Saved item" in resent.content.decode()
    assert Annotation.objects.filter(assignment=assignment).count() == 1
    # The item after it is leased, once.
    assert Assignment.objects.filter(annotator=annotator, status=AssignmentStatus.LEASED).count() == 1
