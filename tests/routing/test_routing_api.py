"""Routing runs over the REST API: project managers only, as on the routing page."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from annotate.models import JobRun
from routing.models import RoutingDecision, RoutingRun
from tests.annotate.test_api import api_client, api_operations
from tests.conftest import build_campaign, make_user

ALLOWED = {
    ("api_routing_runs", "get"): {"site_admin", "pm"},
    ("api_routing_runs", "post"): {"site_admin", "pm"},
    ("api_routing_run", "get"): {"site_admin", "pm"},
    ("api_routing_decisions", "get"): {"site_admin", "pm"},
}


@pytest.fixture(autouse=True)
def fast(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()


def make_run(campaign) -> RoutingRun:
    run = RoutingRun.objects.create(
        campaign=campaign, strategy="error-model", budget=1, main_annotator="local-judge",
        n_instances=3, n_human=1, n_llm=2,
    )
    for rank, instance in enumerate(campaign.instances.order_by("id"), start=1):
        RoutingDecision.objects.create(
            run=run, instance=instance, route="human" if rank == 1 else "llm", rank=rank,
            expected_gain=1 / rank, p_llm_wrong=0.5, p_human_decisive=0.5,
        )
    return run


@pytest.fixture
def routed(db):
    users = {
        "site_admin": make_user("admin", is_superuser=True), "pm": make_user("pm"),
        "other_pm": make_user("otherpm"), "annotator": make_user("annotator1"),
        "researcher": make_user("researcher"), "no_role": make_user("norole"), "anonymous": None,
    }
    campaign = build_campaign(
        pm=users["pm"], annotators=[users["annotator"]], researchers=[users["researcher"]], n_instances=3
    )
    build_campaign(pm=users["other_pm"], name="Other", n_instances=0)
    return users, campaign, make_run(campaign)


def test_the_matrix_covers_every_routing_api_operation():
    assert api_operations("api_routing") == set(ALLOWED)


@pytest.mark.parametrize("role", ["site_admin", "pm", "other_pm", "annotator", "researcher", "no_role", "anonymous"])
def test_routing_permission_matrix(routed, role):
    users, campaign, run = routed
    args = {
        "api_routing_runs": [campaign.slug], "api_routing_run": [campaign.slug, run.pk],
        "api_routing_decisions": [campaign.slug, run.pk],
    }
    wrong = []
    for name, method in sorted(ALLOWED):
        body = {"budget": 1, "annotators": ["no-such-judge"]} if method == "post" else None
        response = getattr(api_client(users[role]), method)(reverse(name, args=args[name]), body, format="json")
        if role == "anonymous":
            expected = 401
        elif role in ALLOWED[(name, method)]:
            expected = None
        else:
            expected = 404 if role in {"other_pm", "no_role"} else 403
        if (expected is None and response.status_code in {401, 403, 404}) or (
            expected is not None and response.status_code != expected
        ):
            wrong.append((name, method, expected, response.status_code))
    assert wrong == []


def test_starting_a_run_is_202_with_a_job_to_poll(routed):
    users, campaign, _ = routed
    client = api_client(users["pm"])
    response = client.post(
        reverse("api_routing_runs", args=[campaign.slug]), {"budget": 1, "annotators": ["local-judge"]}, format="json"
    )
    assert response.status_code == 202, response.content
    job = JobRun.objects.get(pk=response.json()["id"])
    assert job.kind == "routing" and job.params["annotators"] == ["local-judge"]
    assert client.get(reverse("api_job", args=[job.pk])).json()["status"] == "queued"


def test_a_refused_run_is_400_with_the_reason(routed):
    users, campaign, _ = routed
    response = api_client(users["pm"]).post(
        reverse("api_routing_runs", args=[campaign.slug]), {"budget": 99, "annotators": ["local-judge"]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "routing_refused"
    assert "budget" in response.json()["error"]["message"]


def test_runs_and_their_decisions_are_listed_paginated_and_filtered(routed, settings):
    users, campaign, run = routed
    client = api_client(users["pm"])
    runs = client.get(reverse("api_routing_runs", args=[campaign.slug])).json()
    assert [r["id"] for r in runs["results"]] == [run.pk]
    detail = client.get(reverse("api_routing_run", args=[campaign.slug, run.pk])).json()
    assert (detail["n_human"], detail["n_llm"]) == (1, 2)
    decisions = client.get(reverse("api_routing_decisions", args=[campaign.slug, run.pk]), {"page_size": 2})
    body = decisions.json()
    assert body["count"] == 3 and [d["rank"] for d in body["results"]][:1] == [1]
    llm = client.get(reverse("api_routing_decisions", args=[campaign.slug, run.pk]), {"route": "llm"}).json()
    assert {d["route"] for d in llm["results"]} == {"llm"} and llm["count"] == 2


def test_a_run_of_another_campaign_is_404(routed):
    users, campaign, _ = routed
    other = build_campaign(pm=users["pm"], name="Second", n_instances=1)
    foreign = make_run(other)
    response = api_client(users["pm"]).get(reverse("api_routing_run", args=[campaign.slug, foreign.pk]))
    assert response.status_code == 404


def test_a_seed_larger_than_the_budget_is_400_with_the_reason(routed):
    users, campaign, _ = routed
    response = api_client(users["pm"]).post(
        reverse("api_routing_runs", args=[campaign.slug]),
        {"budget": 1, "seed_size": 2, "annotators": ["local-judge"]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "The seed is part of the human budget: between 0 and 1 instances."
    )
    assert not JobRun.objects.filter(kind="routing").exists()
