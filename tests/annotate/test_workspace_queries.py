"""The annotator's hot path runs a fixed number of queries, whatever the campaign's size.

Counts include the three every logged-in request pays (session, user, the campaign with the
user's roles, its task schema, guidelines and quality settings in it) and, under the test's
transaction, the savepoints of each atomic block.
"""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from annotate.models import Assignment
from tests.conftest import build_campaign

HTMX = {"HTTP_HX_REQUEST": "true"}
# Quality control (issue 17) reads the campaign's quality settings with the campaign itself,
# and a submit hands the request's campaign to the service, so neither path reads them again;
# the annotator's progress (done, open, remaining) is one statement (issue 18). A claim that
# leases a new item also takes the annotator's claim lock and re-reads their open lease under
# it (two tabs claiming at once get one lease), and reads the claim window's ids in a query of
# their own (its plan then stays flat in the campaign's size); a submit sizes its form from the
# recorded display order, without reading the responses (issue 18), and hands the assignment it
# read (with the annotator's pool) to the service, which does not read it again.
NEXT_ITEM_QUERIES = 15
SUBMIT_AND_NEXT_QUERIES = 21
SHOW_QUERIES = 6


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_getting_the_next_item_runs_a_fixed_number_of_queries(pm, annotator, django_assert_num_queries):
    for size in (3, 60):
        campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=size, name=f"c{size}")
        client = client_for(annotator)
        with django_assert_num_queries(NEXT_ITEM_QUERIES):
            response = client.post(reverse("label_claim", args=[campaign.slug]), **HTMX)
        assert response.status_code == 200
        with django_assert_num_queries(SHOW_QUERIES):
            client.get(reverse("label_next", args=[campaign.slug]))


def test_submit_and_next_runs_a_fixed_number_of_queries(pm, annotator, django_assert_num_queries):
    for size in (3, 60):
        campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=size, name=f"c{size}")
        client = client_for(annotator)
        client.post(reverse("label_claim", args=[campaign.slug]), **HTMX)
        assignment = Assignment.objects.get(annotator=annotator, campaign=campaign)
        with django_assert_num_queries(SUBMIT_AND_NEXT_QUERIES):
            response = client.post(
                reverse("submit_label", args=[campaign.slug, assignment.pk]),
                {"overall": "Tie", "justification": "same"},
                **HTMX,
            )
        assert response.status_code == 200 and "Saved item" in response.content.decode()


def test_remaining_items_are_counted_up_to_a_cap_then_shown_as_more_than_it(pm, annotator):
    from annotate.selectors import REMAINING_COUNT_CAP

    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=REMAINING_COUNT_CAP + 2)
    page = client_for(annotator).post(reverse("label_claim", args=[campaign.slug]), **HTMX).content.decode()
    # One item is leased to them: one more than the cap is still open.
    assert f"more than {REMAINING_COUNT_CAP} remaining" in page
    assert REMAINING_COUNT_CAP == 100
