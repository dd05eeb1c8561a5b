"""Races and old rows that once stored a wrong label, kept two answer sets, refused a late
answer with a free slot or counted a slot twice (found in review; each failed before its fix)."""

from __future__ import annotations

import contextlib
import random
import re
import threading
import time
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from annotate.models import (
    Annotation,
    AnswerValue,
    Assignment,
    QueueItem,
    Response,
)
from annotate.services import annotations as annotations_service
from annotate.services.annotations import SubmissionRejected, submit_annotation
from annotate.services.answers import AnswerInput
from annotate.services.assignments import (
    _take_open_item,
    claim_next_assignment,
    return_expired_slots,
)
from annotate.services.task_schemas import create_task_schema
from annotate.task_templates import TEMPLATES
from tests.conftest import HTMX, build_campaign, is_postgres, logged_in, make_user, pairwise_answers


def _form_values(body: str) -> dict:
    """What a browser posts back from the rendered form, untouched."""
    data: dict = {}
    for tag in re.findall(r"<input[^>]*>", body):
        if "checked" not in tag or 'type="radio"' not in tag and 'type="checkbox"' not in tag:
            continue
        name = re.search(r'name="([^"]+)"', tag).group(1)
        value = re.search(r'value="([^"]+)"', tag).group(1)
        data.setdefault(name, []).append(value)
    for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>([^<]*)</textarea>', body):
        if text:
            data[name] = text
    return data


def test_opening_and_resubmitting_an_old_label_unchanged_keeps_its_preference(pm, monkeypatch):
    """A submitted assignment without a recorded display order (every v1 label after migration
    0004) is shown in a NEW random order by label_edit, but its answers are mapped with the
    old (natural) order: resubmitting the page untouched inverts the stored preference."""
    person = make_user("old")
    campaign = build_campaign(pm=pm, annotators=[person], n_instances=1, randomize_response_order=True)
    monkeypatch.setattr(random, "shuffle", lambda xs: None)  # shown in row order
    assignment = claim_next_assignment(campaign=campaign, annotator=person)
    submit_annotation(assignment_id=assignment.pk, annotator=person, answers=pairwise_answers(-2, helpfulness=-1))
    # A submitted label whose display order was never recorded (v1 showed row order).
    Assignment.objects.filter(pk=assignment.pk).update(display_order=[])
    assert Annotation.objects.get(assignment=assignment).overall_preference == -2  # position 0 won

    monkeypatch.setattr(random, "shuffle", lambda xs: xs.reverse())  # the coin says "swap"
    client = logged_in(person)
    body = client.get(reverse("label_edit", args=[campaign.slug, assignment.pk])).content.decode()
    client.post(reverse("submit_label", args=[campaign.slug, assignment.pk]), _form_values(body), **HTMX)

    stored = Annotation.objects.get(assignment=assignment)
    assert (stored.overall_preference, stored.revision) == (-2, 1)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_edits_leave_one_answer_per_question(pm, monkeypatch):
    """Edits delete the answers and insert new ones without locking the label: a second edit
    that started before the first committed deletes nothing and adds its rows next to the
    first's. Single-choice answers have no unique constraint that would catch it."""
    if not is_postgres():
        pytest.skip("needs PostgreSQL")
    person = make_user("rater")
    campaign = build_campaign(pm=pm, annotators=[person], n_instances=1, template="helpsteer2_rating")
    assignment = claim_next_assignment(campaign=campaign, annotator=person)
    attributes = ["helpfulness", "correctness", "coherence", "complexity", "verbosity"]

    def ratings(value):
        return [AnswerInput(question=a, slot=s, codes=(str(value),)) for a in attributes for s in (0, 1)]

    submit_annotation(assignment_id=assignment.pk, annotator=person, answers=ratings(2))
    original_attach = annotations_service._attach

    def slow_attach(rows, annotation):
        if threading.current_thread().name == "first-edit":
            time.sleep(1.0)  # the first edit has deleted the old rows and not committed yet
        return original_attach(rows, annotation)

    monkeypatch.setattr(annotations_service, "_attach", slow_attach)
    errors = []

    def edit(value):
        try:
            submit_annotation(assignment_id=assignment.pk, annotator=person, answers=ratings(value))
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)
        finally:
            connection.close()

    first = threading.Thread(target=edit, args=(4,), name="first-edit")
    second = threading.Thread(target=edit, args=(0,), name="second-edit")
    first.start()
    time.sleep(0.3)
    second.start()
    first.join()
    second.join()
    assert not errors
    label = Annotation.objects.get(assignment=assignment)
    assert label.answers.count() == 10, sorted(
        AnswerValue.objects.filter(annotation=label).values_list("question__key", "response_position", "value")
    )


@pytest.mark.django_db(transaction=True)
def test_reclaiming_an_own_expired_lease_that_was_just_retaken_takes_no_second_slot(pm):
    """_take_open_item flips the annotator's EXPIRED lease back without checking the row count:
    when retake_expired_slot (a late submit or draft autosave) committed after the claim's
    snapshot, the claim still adds a slot, so one lease holds two."""
    if not is_postgres():
        pytest.skip("needs PostgreSQL")
    person = make_user("late")
    campaign = build_campaign(pm=pm, annotators=[person], n_instances=1, overlap=2)
    assignment = claim_next_assignment(campaign=campaign, annotator=person)
    Assignment.objects.filter(pk=assignment.pk).update(lease_expires_at=timezone.now() - timedelta(minutes=1))
    assert return_expired_slots(campaign=campaign) == 1
    item = QueueItem.objects.get(campaign=campaign)
    assert item.slots_taken == 0

    settings = connection.settings_dict
    other = psycopg.connect(
        dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"], port=settings["PORT"] or 5432,
        password=settings["PASSWORD"] or None,
    )
    # What retake_expired_slot does, held open: +1 slot, EXPIRED -> LEASED.
    cur = other.cursor()
    cur.execute("UPDATE annotate_queueitem SET slots_taken = slots_taken + 1 WHERE id = %s", [item.pk])
    cur.execute("UPDATE annotate_assignment SET status = 'leased' WHERE id = %s", [assignment.pk])
    result = {}

    def claim():
        try:
            result["a"] = _take_open_item(campaign=campaign, annotator=person, now=timezone.now(), wait=True)
        finally:
            connection.close()

    thread = threading.Thread(target=claim)
    thread.start()
    time.sleep(0.5)
    other.commit()
    other.close()
    thread.join()
    live = Assignment.objects.filter(queue_item=item, status__in=["leased", "submitted"]).count()
    assert QueueItem.objects.get(pk=item.pk).slots_taken == live == 1


def test_a_late_submit_racing_a_sweep_is_kept_while_the_slot_is_free(pm, monkeypatch):
    """Contract: a late submission is accepted if a slot is free. A sweep that lands between
    submit's read and its LEASED->SUBMITTED flip makes the submit refuse the answer although
    nobody took the slot."""
    person = make_user("slow")
    campaign = build_campaign(pm=pm, annotators=[person], n_instances=1, overlap=1)
    assignment = claim_next_assignment(campaign=campaign, annotator=person)
    Assignment.objects.filter(pk=assignment.pk).update(lease_expires_at=timezone.now() - timedelta(minutes=1))
    original = annotations_service.check_answers

    def check_then_sweep(**kwargs):
        checked = original(**kwargs)
        return_expired_slots(campaign=campaign)  # another annotator's claim sweeps now
        return checked

    monkeypatch.setattr(annotations_service, "check_answers", check_then_sweep)
    try:
        submit_annotation(assignment_id=assignment.pk, annotator=person, answers=pairwise_answers(-1))
    except SubmissionRejected as exc:
        pytest.fail(f"refused although the slot is free ({QueueItem.objects.get().slots_taken}/1): {exc}")
    assert Annotation.objects.filter(assignment=assignment).exists()


def test_an_answer_made_under_an_earlier_schema_version_can_still_be_opened_for_editing(pm):
    person = make_user("p")
    campaign = build_campaign(pm=pm, annotators=[person], n_instances=2)
    first = claim_next_assignment(campaign=campaign, annotator=person)
    submit_annotation(assignment_id=first.pk, annotator=person, answers=pairwise_answers(-1))
    create_task_schema(campaign=campaign, questions=TEMPLATES["simple_pairwise"].questions)  # v2, same questions
    client = logged_in(person)
    client.raise_request_exception = False
    response = client.get(reverse("label_edit", args=[campaign.slug, first.pk]))
    assert response.status_code == 200
    # and a repeat of the same submit (Back, double POST) is not a 500 either
    with contextlib.suppress(SubmissionRejected):
        submit_annotation(assignment_id=first.pk, annotator=person, answers=pairwise_answers(-1))


def test_a_pairwise_item_with_three_responses_is_never_stored_without_its_preference(pm):
    """v1 accepted k=3 rows into pairwise campaigns; migration 0004 keeps them. v2 drops every
    pairwise question for k != 2 and stores a label with no preference."""
    person = make_user("k3")
    campaign = build_campaign(pm=pm, annotators=[person], n_instances=1)
    assignment = claim_next_assignment(campaign=campaign, annotator=person)
    Response.objects.create(instance=assignment.instance, position=2, text="a third response")
    client = logged_in(person)
    client.get(reverse("label_next", args=[campaign.slug]))
    client.post(reverse("submit_label", args=[campaign.slug, assignment.pk]), {"justification": "hm"}, **HTMX)
    assert not Annotation.objects.filter(assignment=assignment, overall_preference__isnull=True).exists()


def test_the_database_holds_one_answer_per_single_choice_question_and_response(pm):
    from django.db import IntegrityError, transaction

    person = make_user("db-guard")
    campaign = build_campaign(pm=pm, annotators=[person], n_instances=1)
    assignment = claim_next_assignment(campaign=campaign, annotator=person)
    annotation = submit_annotation(assignment_id=assignment.pk, annotator=person, answers=pairwise_answers(-1)).annotation
    overall = annotation.answers.get(question__key="overall")
    other_option = overall.question.options.exclude(pk=overall.option_id).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        AnswerValue.objects.create(
            annotation=annotation, question=overall.question, option=other_option, value=other_option.value
        )
