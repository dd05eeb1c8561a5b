"""The annotator workspace never records a wrong label and never loses typed work.

Each test here pins one bug a review found in Chromium (issue 14, section 1).
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from annotate.models import Annotation, Assignment, AssignmentStatus, CampaignStatus
from annotate.services.assignments import claim_next_assignment
from tests.conftest import (
    HTMX,
    build_campaign,
    logged_in,
    make_user,
    simple_pairwise_post,
    stored_answers,
)

answer = simple_pairwise_post


def submit_url(campaign, assignment) -> str:
    return reverse("submit_label", args=[campaign.slug, assignment.pk])


# Bug 8: a GET only shows; claiming is an explicit, idempotent POST.


def test_opening_the_label_page_claims_nothing(campaign, annotator):
    client = logged_in(annotator)
    for _ in range(3):
        response = client.get(reverse("label_next", args=[campaign.slug]))
        assert response.status_code == 200
    assert not Assignment.objects.exists()
    assert 'id="claim-button"' in response.content.decode()


def test_reloading_the_label_page_neither_renews_nor_moves_the_lease(campaign, annotator):
    client = logged_in(annotator)
    client.post(reverse("label_claim", args=[campaign.slug]))
    lease = Assignment.objects.get(annotator=annotator)
    client.get(reverse("label_next", args=[campaign.slug]))
    client.get(reverse("label_next", args=[campaign.slug]))
    again = Assignment.objects.get(annotator=annotator)
    assert (again.pk, again.lease_expires_at) == (lease.pk, lease.lease_expires_at)


def test_claiming_twice_is_one_lease(campaign, annotator):
    client = logged_in(annotator)
    first = client.post(reverse("label_claim", args=[campaign.slug]), **HTMX)
    second = client.post(reverse("label_claim", args=[campaign.slug]), **HTMX)
    lease = Assignment.objects.get(annotator=annotator)
    assert f'data-assignment="{lease.pk}"' in first.content.decode()
    assert f'data-assignment="{lease.pk}"' in second.content.decode()


def test_claim_without_htmx_redirects_to_the_label_page(campaign, annotator):
    response = logged_in(annotator).post(reverse("label_claim", args=[campaign.slug]))
    assert response.status_code == 302
    assert response["Location"] == reverse("label_next", args=[campaign.slug])
    assert Assignment.objects.filter(annotator=annotator).count() == 1


# Bug 1: the next item's fields never share ids with the previous item's (htmx restores focus to
# an element with the same id, which put the cursor in the next justification box).


def test_each_item_has_its_own_field_ids(campaign, annotator):
    client = logged_in(annotator)
    first_page = client.post(reverse("label_claim", args=[campaign.slug]), **HTMX).content.decode()
    first = Assignment.objects.get(annotator=annotator)
    next_page = client.post(submit_url(campaign, first), answer(), **HTMX).content.decode()
    ids_before = set(re.findall(r'id="([^"]+)"', first_page)) - {"task-form", "task-heading"}
    ids_after = set(re.findall(r'id="([^"]+)"', next_page))
    field_ids = {i for i in ids_before if "justification" in i or "overall" in i}
    assert field_ids, "the form's fields carry ids"
    assert not field_ids & ids_after


# Bug 2: after a lost lease, the next item is shown with an empty form, never the old answer.


def test_a_lost_lease_shows_the_next_item_with_an_empty_form_and_the_lost_answer(pm, db):
    slow, fast = make_user("slow"), make_user("fast")
    campaign = build_campaign(pm=pm, annotators=[slow, fast], n_instances=3, lease_minutes=5)
    stale = claim_next_assignment(campaign=campaign, annotator=slow)
    claim_next_assignment(campaign=campaign, annotator=fast, now=timezone.now() + timedelta(minutes=6))
    assert Assignment.objects.get(pk=stale.pk).status == AssignmentStatus.EXPIRED

    response = logged_in(slow).post(
        submit_url(campaign, stale), answer(justification="My careful reasoning."), **HTMX
    )
    body = response.content.decode()
    nxt = Assignment.objects.get(annotator=slow, status=AssignmentStatus.LEASED)
    assert response.status_code == 409
    assert nxt.instance_id != stale.instance_id
    assert f'data-assignment="{nxt.pk}"' in body
    assert "checked" not in body
    assert re.search(r"<textarea[^>]*>\s*</textarea>", body), "the next item's text box is empty"
    assert "lease on this item expired" in body
    assert "My careful reasoning." in body.split('id="lost-answer"')[1]
    assert not Annotation.objects.exists()


def test_an_invalid_answer_keeps_the_same_item_with_what_was_chosen(campaign, annotator):
    client = logged_in(annotator)
    client.post(reverse("label_claim", args=[campaign.slug]))
    first = Assignment.objects.get(annotator=annotator)
    response = client.post(submit_url(campaign, first), answer(justification=""), **HTMX)
    body = response.content.decode()
    assert response.status_code == 422
    assert f'data-assignment="{first.pk}"' in body
    assert re.search(r'value="A-is-clearly-better"[^>]*checked', body)


# Bug 3: an ended session answers HTMX with 401 (the form stays), and logging in with ``next``
# at the submit URL lands on the workspace, not a 405.


def test_an_htmx_submit_after_the_session_ended_gets_401_not_a_login_page(campaign, annotator):
    assignment = claim_next_assignment(campaign=campaign, annotator=annotator)
    response = Client().post(submit_url(campaign, assignment), answer(), **HTMX)
    assert response.status_code == 401
    assert b"<form" not in response.content
    assert not Annotation.objects.exists()
    assert Assignment.objects.get(pk=assignment.pk).status == AssignmentStatus.LEASED


def test_a_plain_submit_after_the_session_ended_goes_to_login_then_back_to_the_workspace(
    campaign, annotator
):
    assignment = claim_next_assignment(campaign=campaign, annotator=annotator)
    response = Client().post(submit_url(campaign, assignment), answer())
    label_page = reverse("label_next", args=[campaign.slug])
    assert response.status_code == 302
    assert response["Location"].endswith(f"?next={label_page}")


def test_get_on_the_submit_url_shows_the_workspace(campaign, annotator):
    assignment = claim_next_assignment(campaign=campaign, annotator=annotator)
    client = logged_in(annotator)
    response = client.get(submit_url(campaign, assignment), follow=True)
    assert response.status_code == 200
    assert f'data-assignment="{assignment.pk}"' in response.content.decode()


def test_a_draft_is_saved_on_the_server_and_restored_after_reload(campaign, annotator):
    client = logged_in(annotator)
    client.post(reverse("label_claim", args=[campaign.slug]))
    lease = Assignment.objects.get(annotator=annotator)
    response = client.post(
        reverse("save_draft", args=[campaign.slug, lease.pk]),
        {"overall": "B-is-slightly-better", "justification": "half <b>written</b>"},
        **HTMX,
    )
    assert response.status_code == 204
    saved = Assignment.objects.get(pk=lease.pk)
    assert saved.draft == {"overall": "B-is-slightly-better", "justification": "half <b>written</b>"}
    assert saved.lease_expires_at >= lease.lease_expires_at
    body = logged_in(annotator).get(reverse("label_next", args=[campaign.slug])).content.decode()
    assert re.search(r'value="B-is-slightly-better"[^>]*checked', body)
    assert "half &lt;b&gt;written&lt;/b&gt;</textarea>" in body


def test_a_draft_for_an_item_that_was_given_away_is_refused(pm, db):
    slow, fast = make_user("slow"), make_user("fast")
    campaign = build_campaign(pm=pm, annotators=[slow, fast], n_instances=1, lease_minutes=5)
    stale = claim_next_assignment(campaign=campaign, annotator=slow)
    claim_next_assignment(campaign=campaign, annotator=fast, now=timezone.now() + timedelta(minutes=6))
    response = logged_in(slow).post(
        reverse("save_draft", args=[campaign.slug, stale.pk]), {"justification": "x"}, **HTMX
    )
    assert response.status_code == 409
    assert Assignment.objects.get(pk=stale.pk).draft == {}


def test_submitting_clears_the_draft(campaign, annotator):
    client = logged_in(annotator)
    client.post(reverse("label_claim", args=[campaign.slug]))
    lease = Assignment.objects.get(annotator=annotator)
    client.post(reverse("save_draft", args=[campaign.slug, lease.pk]), {"justification": "x"}, **HTMX)
    client.post(submit_url(campaign, lease), answer(), **HTMX)
    assert Assignment.objects.get(pk=lease.pk).draft == {}


# Bug 4: a changed answer on a stale (Back/Forward) page is recorded as an edit, never dropped;
# pages are not kept in the browser's cache.


def test_label_pages_are_never_cached(campaign, annotator):
    client = logged_in(annotator)
    assert "no-store" in client.get(reverse("label_next", args=[campaign.slug]))["Cache-Control"]
    response = client.post(reverse("label_claim", args=[campaign.slug]), **HTMX)
    assert "no-store" in response["Cache-Control"]


def test_resubmitting_a_changed_answer_updates_the_one_stored_label(campaign, annotator):
    client = logged_in(annotator)
    client.post(reverse("label_claim", args=[campaign.slug]))
    first = Assignment.objects.get(annotator=annotator)
    client.post(submit_url(campaign, first), answer(), **HTMX)
    response = client.post(
        submit_url(campaign, first),
        answer(overall="B-is-slightly-better", justification="On reflection @B.", helpfulness=""),
        **HTMX,
    )
    stored = Annotation.objects.get(assignment=first)
    assert Annotation.objects.filter(instance=first.instance).count() == 1
    assert stored.overall_preference == 1
    assert stored_answers(stored) == {("overall", None): 1, ("justification", None): "On reflection @B."}
    assert stored.revision == 2 and stored.updated_at is not None
    assert "Updated your earlier answer" in response.content.decode()


def test_resubmitting_the_same_answer_changes_nothing(campaign, annotator):
    client = logged_in(annotator)
    client.post(reverse("label_claim", args=[campaign.slug]))
    first = Assignment.objects.get(annotator=annotator)
    client.post(submit_url(campaign, first), answer(), **HTMX)
    response = client.post(submit_url(campaign, first), answer(), **HTMX)
    stored = Annotation.objects.get(assignment=first)
    assert stored.revision == 1 and stored.updated_at is None
    assert "counted once" in response.content.decode()


def test_a_closed_campaign_refuses_changes_to_submitted_answers_and_says_so(campaign, annotator):
    client = logged_in(annotator)
    client.post(reverse("label_claim", args=[campaign.slug]))
    first = Assignment.objects.get(annotator=annotator)
    client.post(submit_url(campaign, first), answer(), **HTMX)
    campaign.status = CampaignStatus.COMPLETED
    campaign.save()
    response = client.post(submit_url(campaign, first), answer(overall="B-is-clearly-better"), **HTMX)
    assert response.status_code == 409
    assert "can no longer be changed" in response.content.decode()
    assert Annotation.objects.get(assignment=first).overall_preference == -2


# My recent submissions: each can be opened again, shown as it was answered, and changed.


def test_recent_answers_list_the_annotators_submissions_with_a_link_to_change_each(campaign, annotator):
    client = logged_in(annotator)
    client.post(reverse("label_claim", args=[campaign.slug]))
    first = Assignment.objects.get(annotator=annotator)
    client.post(submit_url(campaign, first), answer(), **HTMX)
    body = client.get(reverse("label_recent", args=[campaign.slug])).content.decode()
    assert f"<td>{first.instance.annotator_reference}</td>" in body
    assert reverse("label_edit", args=[campaign.slug, first.pk]) in body


def test_an_edited_item_shows_the_stored_answers_as_seen_even_when_the_pair_was_swapped(campaign, annotator):
    client = logged_in(annotator)
    client.post(reverse("label_claim", args=[campaign.slug]))
    first = Assignment.objects.get(annotator=annotator)
    Assignment.objects.filter(pk=first.pk).update(display_order=[1, 0])
    client.post(submit_url(campaign, first), answer(), **HTMX)  # "A clearly better" as shown
    assert Annotation.objects.get(assignment=first).overall_preference == 2  # position 1 won

    body = client.get(reverse("label_edit", args=[campaign.slug, first.pk])).content.decode()
    assert re.search(r'value="A-is-clearly-better"[^>]*checked', body)  # shown as it was answered
    assert "@A is correct.</textarea>" in body

    client.post(submit_url(campaign, first), answer(overall="Tie"), **HTMX)
    stored = Annotation.objects.get(assignment=first)
    assert (stored.overall_preference, stored.revision) == (0, 2)


def test_someone_elses_item_cannot_be_opened_for_editing(campaign, annotator, second_annotator):
    theirs = claim_next_assignment(campaign=campaign, annotator=second_annotator)
    response = logged_in(annotator).get(reverse("label_edit", args=[campaign.slug, theirs.pk]))
    assert response.status_code == 404


# Skip and flag.


def test_skipping_with_a_reason_records_it_and_shows_the_next_item(campaign, annotator):
    client = logged_in(annotator)
    client.post(reverse("label_claim", args=[campaign.slug]))
    first = Assignment.objects.get(annotator=annotator)
    response = client.post(
        reverse("skip_item", args=[campaign.slug, first.pk]), {"reason": "unsafe", "note": "graphic"}, **HTMX
    )
    skipped = Assignment.objects.get(pk=first.pk)
    assert (skipped.status, skipped.skip_reason, skipped.skip_note) == ("skipped", "unsafe", "graphic")
    nxt = Assignment.objects.get(annotator=annotator, status=AssignmentStatus.LEASED)
    assert f'data-assignment="{nxt.pk}"' in response.content.decode()
    assert f"Skipped item {first.instance.annotator_reference}." in response.content.decode()
    assert not Annotation.objects.exists()


def test_a_skip_without_a_reason_is_refused_and_keeps_the_item(campaign, annotator):
    client = logged_in(annotator)
    client.post(reverse("label_claim", args=[campaign.slug]))
    first = Assignment.objects.get(annotator=annotator)
    response = client.post(reverse("skip_item", args=[campaign.slug, first.pk]), {"reason": ""}, **HTMX)
    assert response.status_code == 422
    assert Assignment.objects.get(pk=first.pk).status == AssignmentStatus.LEASED


def test_a_submitted_item_cannot_be_skipped(campaign, annotator):
    client = logged_in(annotator)
    client.post(reverse("label_claim", args=[campaign.slug]))
    first = Assignment.objects.get(annotator=annotator)
    client.post(submit_url(campaign, first), answer(), **HTMX)
    response = client.post(reverse("skip_item", args=[campaign.slug, first.pk]), {"reason": "broken"}, **HTMX)
    assert response.status_code == 409
    assert Annotation.objects.filter(assignment=first).exists()


def test_someone_elses_item_cannot_be_skipped_or_drafted(campaign, annotator, second_annotator):
    theirs = claim_next_assignment(campaign=campaign, annotator=second_annotator)
    client = logged_in(annotator)
    assert client.post(reverse("skip_item", args=[campaign.slug, theirs.pk]), {"reason": "broken"}).status_code == 404
    assert client.post(reverse("save_draft", args=[campaign.slug, theirs.pk]), {"justification": "x"}).status_code == 404
    assert Assignment.objects.get(pk=theirs.pk).status == AssignmentStatus.LEASED


def test_a_rating_campaign_shows_and_stores_every_response_of_a_three_response_item(pm, annotator):
    import json

    from annotate.services.imports import import_instances

    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=0, template="helpsteer2_rating")
    row = {"id": "three", "prompt": "Name a colour.", "responses": [{"text": t} for t in ("Red.", "Blue.", "Green.")]}
    import_instances(campaign=campaign, data=json.dumps(row).encode(), file_format="generic")
    client = logged_in(annotator)
    body = client.post(reverse("label_claim", args=[campaign.slug]), **HTMX).content.decode()
    assert all(text in body for text in ("Red.", "Blue.", "Green.")) and "Response C" in body
    assignment = Assignment.objects.get(annotator=annotator)
    keys = ["helpfulness", "correctness", "coherence", "complexity", "verbosity"]
    data = {f"{key}-{letter}": str(i) for letter, i in (("a", 4), ("b", 2), ("c", 0)) for key in keys}
    response = client.post(submit_url(campaign, assignment), data, **HTMX)
    assert response.status_code == 200
    stored = stored_answers(Annotation.objects.get(assignment=assignment))
    assignment.refresh_from_db()
    shown = assignment.display_order
    assert {stored[(key, shown[0])] for key in keys} == {4}
    assert {stored[(key, shown[1])] for key in keys} == {2}
    assert {stored[(key, shown[2])] for key in keys} == {0}
    assert len(stored) == 15


def test_a_pairwise_item_with_three_responses_cannot_be_answered_only_skipped(campaign, annotator):
    """v1 let such rows into pairwise campaigns; a label without its preference is never stored."""
    from annotate.models import Response

    client = logged_in(annotator)
    client.post(reverse("label_claim", args=[campaign.slug]))
    assignment = Assignment.objects.get(annotator=annotator)
    Response.objects.create(instance=assignment.instance, position=2, text="A third answer.")
    body = client.get(reverse("label_next", args=[campaign.slug])).content.decode()
    assert 'id="cannot-answer"' in body and 'id="submit-button"' not in body
    response = client.post(submit_url(campaign, assignment), {"justification": "only text"}, **HTMX)
    assert response.status_code in (409, 422)
    assert not Annotation.objects.exists()


def test_a_draft_keeps_only_known_options_and_bounded_text(campaign, annotator):
    client = logged_in(annotator)
    client.post(reverse("label_claim", args=[campaign.slug]))
    lease = Assignment.objects.get(annotator=annotator)
    client.post(
        reverse("save_draft", args=[campaign.slug, lease.pk]),
        {"overall": ["not-an-option", "Tie", "B-is-clearly-better"], "justification": "x" * 6000, "spam": "y"},
        **HTMX,
    )
    draft = Assignment.objects.get(pk=lease.pk).draft
    assert draft == {"overall": "B-is-clearly-better", "justification": "x" * 5000}


def test_a_single_choice_posted_twice_is_refused(campaign, annotator):
    client = logged_in(annotator)
    client.post(reverse("label_claim", args=[campaign.slug]))
    first = Assignment.objects.get(annotator=annotator)
    response = client.post(submit_url(campaign, first), answer(overall=["Tie", "B-is-clearly-better"]), **HTMX)
    assert response.status_code == 422 and "Choose one answer." in response.content.decode()
    assert not Annotation.objects.exists()


def test_a_skip_note_that_is_too_long_says_so(campaign, annotator):
    client = logged_in(annotator)
    client.post(reverse("label_claim", args=[campaign.slug]))
    first = Assignment.objects.get(annotator=annotator)
    response = client.post(reverse("skip_item", args=[campaign.slug, first.pk]), {"reason": "other", "note": "n" * 501}, **HTMX)
    assert response.status_code == 422 and "at most 500 characters" in response.content.decode()
