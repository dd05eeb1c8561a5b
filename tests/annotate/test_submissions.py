"""A submission counts exactly once, and is never silently dropped."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from annotate.models import Annotation, AssignmentStatus
from annotate.services.annotations import SubmissionRejected, submit_annotation
from annotate.services.answers import AnswerInput
from annotate.services.assignments import claim_next_assignment
from tests.conftest import build_campaign, is_postgres, make_user, pairwise_answers, stored_answers

GOOD = pairwise_answers(
    -1, helpfulness=-2, harmlessness=0, justification="@A answers the question; @B is unsafe."
)


def submit_pairwise_annotation(*, assignment_id, annotator, judgement, now=None):
    return submit_annotation(
        assignment_id=assignment_id, annotator=annotator, answers=judgement, time_spent_seconds=12.5, now=now
    )


def test_submission_records_the_judgement_with_human_provenance(campaign, annotator):
    assignment = claim_next_assignment(campaign=campaign, annotator=annotator)
    outcome = submit_pairwise_annotation(
        assignment_id=assignment.pk, annotator=annotator, judgement=GOOD
    )
    annotation = outcome.annotation
    assert outcome.created
    assert annotation.source == "human" and annotation.annotator == annotator
    assert annotation.overall_preference == -1
    assert stored_answers(annotation) == {
        ("overall", None): -1,
        ("helpfulness", None): -2,
        ("harmlessness", None): 0,
        ("justification", None): "@A answers the question; @B is unsafe.",
    }
    assert annotation.time_spent_seconds == 12.5
    assert annotation.guidelines == campaign.guidelines and annotation.task_schema == campaign.task_schema
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.SUBMITTED


def test_second_submit_of_same_assignment_counts_once(campaign, annotator):
    assignment = claim_next_assignment(campaign=campaign, annotator=annotator)
    first = submit_pairwise_annotation(assignment_id=assignment.pk, annotator=annotator, judgement=GOOD)
    double_click = submit_pairwise_annotation(
        assignment_id=assignment.pk, annotator=annotator, judgement=GOOD
    )
    assert not double_click.created and not double_click.changed
    assert double_click.annotation.pk == first.annotation.pk
    assert Annotation.objects.filter(instance=assignment.instance).count() == 1
    assert Annotation.objects.get(instance=assignment.instance).revision == 1


def test_a_changed_second_submit_updates_the_one_label_and_counts_once(campaign, annotator):
    assignment = claim_next_assignment(campaign=campaign, annotator=annotator)
    first = submit_pairwise_annotation(assignment_id=assignment.pk, annotator=annotator, judgement=GOOD)
    changed_mind = pairwise_answers(2, justification="@B after all")
    second = submit_pairwise_annotation(
        assignment_id=assignment.pk, annotator=annotator, judgement=changed_mind
    )
    assert not second.created and second.changed
    assert second.annotation.pk == first.annotation.pk
    stored = Annotation.objects.get(instance=assignment.instance)
    assert (stored.overall_preference, stored.revision) == (2, 2)
    assert stored_answers(stored) == {("overall", None): 2, ("justification", None): "@B after all"}


def test_someone_elses_assignment_cannot_be_submitted(campaign, annotator, second_annotator):
    assignment = claim_next_assignment(campaign=campaign, annotator=annotator)
    with pytest.raises(SubmissionRejected, match="not assigned to you"):
        submit_pairwise_annotation(
            assignment_id=assignment.pk, annotator=second_annotator, judgement=GOOD
        )
    assert not Annotation.objects.exists()


def test_submission_after_the_slot_was_given_away_is_refused_with_a_reason(pm, db):
    first, second = make_user("first"), make_user("second")
    campaign = build_campaign(pm=pm, annotators=[first, second], n_instances=1, lease_minutes=5)
    stale = claim_next_assignment(campaign=campaign, annotator=first)
    claim_next_assignment(
        campaign=campaign, annotator=second, now=timezone.now() + timedelta(minutes=6)
    )
    with pytest.raises(SubmissionRejected, match="lease on this item expired"):
        submit_pairwise_annotation(assignment_id=stale.pk, annotator=first, judgement=GOOD)
    assert not Annotation.objects.exists()


def test_late_submission_is_accepted_while_nobody_took_the_slot(pm, db):
    slow = make_user("slow")
    campaign = build_campaign(pm=pm, annotators=[slow], n_instances=1, lease_minutes=5)
    assignment = claim_next_assignment(campaign=campaign, annotator=slow)
    outcome = submit_pairwise_annotation(
        assignment_id=assignment.pk,
        annotator=slow,
        judgement=GOOD,
        now=timezone.now() + timedelta(hours=2),
    )
    assert outcome.created


@pytest.mark.parametrize(
    ("judgement", "message"),
    [
        (
            [AnswerInput("overall", codes=("3",)), AnswerInput("justification", text="x")],
            '"Overall, which response is better?": "3" is not one of its options',
        ),
        (pairwise_answers(0, justification="  "), '"Justification" is required'),
        (pairwise_answers(None, justification="x"), '"Overall, which response is better?" is required'),
        (
            pairwise_answers(0, justification="x") + [AnswerInput("style", codes=("Tie",))],
            '"style" is not a question of this task',
        ),
        (
            pairwise_answers(0, justification="x") + [AnswerInput("helpfulness", codes=("-5",))],
            '"Helpfulness": "-5" is not one of its options',
        ),
        (
            pairwise_answers(0, justification="x") + [AnswerInput("overall", codes=("Tie",))],
            '"overall" is answered twice',
        ),
    ],
)
def test_invalid_judgements_are_refused_naming_the_field(campaign, annotator, judgement, message):
    assignment = claim_next_assignment(campaign=campaign, annotator=annotator)
    with pytest.raises(SubmissionRejected) as refused:
        submit_pairwise_annotation(assignment_id=assignment.pk, annotator=annotator, judgement=judgement)
    assert message in str(refused.value)
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.LEASED  # nothing changed; they can fix and resend


@pytest.mark.django_db(transaction=True)
def test_concurrent_double_submit_counts_once(pm):
    if not is_postgres():
        pytest.skip("needs concurrent writers on PostgreSQL; CI runs this")
    person = make_user("double")
    campaign = build_campaign(pm=pm, annotators=[person], n_instances=1)
    assignment = claim_next_assignment(campaign=campaign, annotator=person)
    barrier = threading.Barrier(4)
    outcomes, errors = [], []

    def submit():
        try:
            barrier.wait()
            outcomes.append(
                submit_pairwise_annotation(assignment_id=assignment.pk, annotator=person, judgement=GOOD)
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(o.created for o in outcomes) == 1
    assert len({o.annotation.pk for o in outcomes}) == 1
    assert Annotation.objects.count() == 1


def test_a_human_label_records_the_annotators_pool(pm):
    from annotate.models import CampaignRole
    from annotate.services.campaigns import add_member

    expert = make_user("expert")
    campaign = build_campaign(pm=pm, n_instances=1)
    add_member(campaign=campaign, user=expert, role=CampaignRole.ANNOTATOR, pool="expert")
    assignment = claim_next_assignment(campaign=campaign, annotator=expert)
    outcome = submit_pairwise_annotation(assignment_id=assignment.pk, annotator=expert, judgement=GOOD)
    assert outcome.annotation.pool == "expert"


def test_a_label_submitted_through_the_page_records_the_annotators_pool_too(pm):
    # The page hands the assignment it read (with the pool) to the service, which reads no copy.
    from django.urls import reverse

    from annotate.models import CampaignRole
    from annotate.services.campaigns import add_member
    from tests.conftest import logged_in, simple_pairwise_post

    expert = make_user("expert")
    campaign = build_campaign(pm=pm, n_instances=1)
    add_member(campaign=campaign, user=expert, role=CampaignRole.ANNOTATOR, pool="expert")
    assignment = claim_next_assignment(campaign=campaign, annotator=expert)
    response = logged_in(expert).post(
        reverse("submit_label", args=[campaign.slug, assignment.pk]),
        simple_pairwise_post(),
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert Annotation.objects.get(assignment=assignment).pool == "expert"


def test_a_time_spent_no_annotator_could_have_is_not_stored_but_the_label_is(pm):
    from annotate.services.annotations import MAX_TIME_SPENT_SECONDS

    person = make_user("timer")
    campaign = build_campaign(pm=pm, annotators=[person], n_instances=3)
    for seconds in (1e308, -5.0, float(MAX_TIME_SPENT_SECONDS)):
        assignment = claim_next_assignment(campaign=campaign, annotator=person)
        submit_annotation(
            assignment_id=assignment.pk, annotator=person, answers=pairwise_answers(-1), time_spent_seconds=seconds
        )
        stored = Annotation.objects.get(assignment=assignment)
        assert stored.time_spent_seconds is None and stored.overall_preference == -1


def test_a_text_answer_to_a_question_without_its_own_limit_is_held_to_the_global_one(pm):
    from annotate.models import Question
    from annotate.services.answers import MAX_TEXT_ANSWER_LENGTH

    person = make_user("writer")
    campaign = build_campaign(pm=pm, annotators=[person], n_instances=1)
    from annotate.services import task_schemas

    # A PM-edited schema may leave a text question unbounded; schemas are immutable once used,
    # so the cached view of this one is dropped after changing it behind the services' back.
    Question.objects.filter(schema=campaign.task_schema, key="justification").update(max_length=None)
    task_schemas._VIEWS.clear()
    assignment = claim_next_assignment(campaign=campaign, annotator=person)
    with pytest.raises(SubmissionRejected, match=f"at most {MAX_TEXT_ANSWER_LENGTH}"):
        submit_annotation(
            assignment_id=assignment.pk,
            annotator=person,
            answers=pairwise_answers(-1, justification="@A " + "x" * MAX_TEXT_ANSWER_LENGTH),
        )
    assert not Annotation.objects.exists()
