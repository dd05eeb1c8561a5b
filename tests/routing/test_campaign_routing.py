"""Routing a campaign end to end: a PM routes with a chat judge as the main judge and the local
judge on the jury; a real Celery worker judges, scores and routes; humans get the routed items,
the jury labels the rest, and the export says which is which."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from annotate.exports import get_exporter
from annotate.models import Annotation, AnnotationSource, JobKind, JobRun, JobStatus, QueueItem
from annotate.services.annotations import submit_annotation
from annotate.services.assignments import claim_next_assignment
from routing.models import Route, RoutingDecision, RoutingRun
from tests.conftest import build_campaign, logged_in, make_user, pairwise_answers
from tests.routing.chat_server import chat_reply
from tests.test_end_to_end import wait_for_job

HUMAN_SAYS = pairwise_answers(-1, helpfulness=-2, harmlessness=0, justification="@A simmers it.")


def number_of(text: str) -> int:
    return int(re.search(r"(?:to|number) (\d+)", text).group(1))


def order_sensitive_judge(call):
    """Prefers simmering, except on items whose number is a multiple of 3: there it picks
    whichever response it is shown first, so its two orders disagree (an unusable verdict)."""
    picks_first = number_of(call.shown_a) % 3 == 0 or "simmer" in call.shown_a
    preference = -2 if picks_first else 2
    answer = {
        "preference": preference,
        "aspects": {"helpfulness": preference, "truthfulness": 0, "harmlessness": 0},
        "confidence": 0.7,
        "justification": "scripted",
    }
    return chat_reply(json.dumps(answer))


def configure_judge(settings, server, monkeypatch, tmp_path):
    monkeypatch.setenv("HOUSE_JUDGE_KEY", "sk-house")
    settings.LLM_CACHE_DIR = str(tmp_path / "llm-cache")
    settings.LLM_ANNOTATORS = {
        "house-judge": {
            "name": "house-judge",
            "base_url": server.base_url,
            "model": "scripted",
            "api_key_env": "HOUSE_JUDGE_KEY",
            "max_retries": 1,
            "backoff_base_s": 0.01,
            "backoff_max_s": 0.02,
            "timeout_s": 5,
        }
    }


def label_first(campaign, annotator, count):
    labelled = []
    for _ in range(count):
        assignment = claim_next_assignment(campaign=campaign, annotator=annotator)
        submit_annotation(
            assignment_id=assignment.pk,
            annotator=annotator,
            answers=HUMAN_SAYS,
            time_spent_seconds=9,
        )
        labelled.append(assignment.instance.external_id)
    return labelled


def route(client, campaign, **fields):
    data = {"budget": "50", "budget_unit": "percent", "strategy": "error-model"}
    data.update(fields)
    return client.post(reverse("campaign_routing", args=[campaign.slug]), data)


@pytest.mark.worker
@pytest.mark.slow
def test_a_pm_routes_a_campaign_humans_get_the_routed_items_and_the_jury_labels_the_rest(
    settings, serve, monkeypatch, tmp_path, celery_worker_all_queues
):
    pm, annotator = make_user("pm"), make_user("ann")
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=12, overlap=1)
    seed = label_first(campaign, annotator, 3)  # paid human labels the error model reads
    server = serve(order_sensitive_judge)
    configure_judge(settings, server, monkeypatch, tmp_path)

    response = route(logged_in(pm), campaign, main="house-judge", jury=["local-judge"])
    assert response.status_code == 302, response.content.decode()[:2000]
    job = JobRun.objects.get(campaign=campaign, kind=JobKind.ROUTING)
    job = wait_for_job(job.pk, timeout=300)
    assert job.status == JobStatus.SUCCEEDED, job.error

    run = RoutingRun.objects.get(campaign=campaign)
    assert (run.n_instances, run.n_human, run.n_llm, run.budget) == (12, 6, 6, 6)
    assert run.human_labels_read == 3
    assert run.main_annotator == "house-judge" and run.jury == ["local-judge"]
    decisions = {
        d.instance.external_id: d
        for d in RoutingDecision.objects.filter(run=run).select_related("instance")
    }
    assert len(decisions) == 12
    human = {key for key, d in decisions.items() if d.route == Route.HUMAN}
    # The default seed is 3 of the budget of 6: the items humans labelled before any routing
    # (in queue order, not chosen by a router) are that seed, and the judges' weights are
    # measured on them alone. The rest of the budget goes to the highest expected gains.
    assert set(seed) == {"item-0", "item-1", "item-2"}
    assert run.model_details["seed"] == {
        "size": 3,
        "requested": 3,
        "labelled": 3,
        "instance_ids": sorted(decisions[key].instance_id for key in seed),
    }
    assert all(decisions[key].already_human for key in seed)
    assert all(decisions[key].top_signals[0]["signal"] == "seed" for key in seed)
    routed = [d for d in decisions.values() if d.route == Route.HUMAN and not d.already_human]
    left = [d for d in decisions.values() if d.route == Route.LLM]
    assert len(routed) == 3 and human == set(seed) | {d.instance.external_id for d in routed}
    assert min(d.expected_gain for d in routed) >= max(d.expected_gain for d in left)
    for d in decisions.values():  # an even jury gives no usable label: nothing is worth more
        if any(s["signal"] == "label.undecided" for s in d.top_signals):
            assert d.p_llm_wrong == 1.0
    # house-judge was decisive on items 1 and 2 of the seed (item 0's orders disagreed).
    assert run.model_details["reliability"]["house-judge"]["seen"] == 2
    assert all(
        d.expected_gain == pytest.approx(d.p_llm_wrong * d.p_human_decisive)
        for d in decisions.values()
    )
    # Every judge labelled every pair, seed included (both orders for the chat judge).
    assert (
        Annotation.objects.filter(campaign=campaign, model_name="house-judge/scripted").count()
        == 12
    )
    assert len(server.calls) == 24
    assert run.judge_agreement["house-judge"]["n"] == 3
    assert run.curve[0][0] == 0.0 and run.curve[-1][0] == 1.0
    # With every pair to humans, the prediction is the chance each gives a decisive label (1 for
    # those who already did); with none, the chance the label the LLM side keeps is right.
    all_human = [1.0 if key in seed else d.p_human_decisive for key, d in decisions.items()]
    assert run.curve[-1][1] == pytest.approx(sum(all_human) / 12)
    assert all(0.0 <= agreement <= 1.0 for _, agreement in run.curve)

    routes = dict(
        QueueItem.objects.filter(campaign=campaign).values_list("instance__external_id", "route")
    )
    assert {key for key, value in routes.items() if value == "human"} == human
    assert {key for key, value in routes.items() if value == "llm"} == set(decisions) - human

    # The jury job labels the LLM-routed items, and only them.
    jury_job = wait_for_job(job.result["jury_job"], timeout=60)
    assert jury_job.status == JobStatus.SUCCEEDED, jury_job.error
    jury = Annotation.objects.filter(
        campaign=campaign, source=AnnotationSource.LLM, model_name="jury"
    )
    assert {a.instance.external_id for a in jury} == set(decisions) - human
    assert all(a.raw_output["routing_run"] == run.pk for a in jury)

    # Humans get the routed items, never an LLM-routed one.
    claimed = claim_next_assignment(campaign=campaign, annotator=annotator)
    assert claimed.instance.external_id in {d.instance.external_id for d in routed}

    # The export says which is which.
    exporter = get_exporter("dpo")(campaign=campaign)
    rows = {json.loads(line)["id"]: json.loads(line) for line in exporter.iter_lines()}
    for key in seed:
        assert rows[key]["provenance"]["label_source"] == "human"
    for key in set(decisions) - human:
        if key in rows:
            assert rows[key]["provenance"]["aggregation"] == "llm_jury"
            assert rows[key]["provenance"]["annotators"] == ["jury@jury-v1"]

    page = logged_in(pm).get(reverse("campaign_routing", args=[campaign.slug]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "a random seed item" in text and "<polyline" in text
    assert 'id="run-kept-label"' in text and "LLM-routed items keep" in text

    # Re-routing after more human labels is a new run that supersedes the first.
    label_first(campaign, annotator, 1)
    route(logged_in(pm), campaign, main="house-judge", jury=["local-judge"])
    second = wait_for_job(
        JobRun.objects.filter(kind=JobKind.ROUTING).order_by("-id").first().pk, timeout=300
    )
    assert second.status == JobStatus.SUCCEEDED, second.error
    latest = RoutingRun.objects.order_by("-id").first()
    assert latest.supersedes_id == run.pk and latest.human_labels_read == 4
    # The re-route keeps the seed, and the label humans gave the item the router chose for
    # them does not move the judges' weights.
    assert latest.model_details["seed"] == run.model_details["seed"]
    assert latest.model_details["reliability"] == run.model_details["reliability"]
    assert len(server.calls) == 24  # nothing judged twice: every verdict was already stored


@pytest.mark.django_db
def test_only_the_campaigns_pm_sees_and_starts_routing(settings):
    pm, annotator, other_pm = make_user("pm"), make_user("ann"), make_user("other")
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=4)
    build_campaign(pm=other_pm, n_instances=1, name="Other")
    url = reverse("campaign_routing", args=[campaign.slug])
    assert logged_in(pm).get(url).status_code == 200
    # A member without the PM role is refused; a stranger to the campaign does not see it.
    for outsider, status in ((annotator, 403), (other_pm, 404)):
        assert logged_in(outsider).get(url).status_code == status
        assert route(logged_in(outsider), campaign, main="local-judge").status_code == status
    assert not JobRun.objects.filter(kind=JobKind.ROUTING).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields, message",
    [
        ({"budget": "120", "main": "local-judge"}, "A share cannot be more than 100%."),
        (
            {"budget": "9", "budget_unit": "count", "main": "local-judge"},
            "The campaign has 4 instances.",
        ),
        ({"main": "local-judge", "jury": ["local-judge"]}, "local-judge is the main judge"),
        ({"main": "nobody"}, "Select a valid choice"),
        (
            {"budget": "2", "budget_unit": "count", "seed_size": "3", "main": "local-judge"},
            "The seed is part of the budget: it cannot be larger.",
        ),
    ],
)
def test_a_bad_routing_request_is_refused_with_a_clear_message(fields, message):
    pm = make_user("pm")
    campaign = build_campaign(pm=pm, n_instances=4)
    response = route(logged_in(pm), campaign, **fields)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not JobRun.objects.filter(kind=JobKind.ROUTING).exists()


@pytest.mark.worker
@pytest.mark.slow
def test_the_offline_demo_path_routes_with_the_local_judge_alone(celery_worker_all_queues):
    """No chat judge, no human label yet: the local judge is main judge and jury of one."""
    pm = make_user("pm")
    campaign = build_campaign(pm=pm, n_instances=16)
    response = route(logged_in(pm), campaign, budget="30", main="local-judge")
    assert response.status_code == 302
    job = wait_for_job(JobRun.objects.get(kind=JobKind.ROUTING).pk, timeout=300)
    assert job.status == JobStatus.SUCCEEDED, job.error
    run = RoutingRun.objects.get(campaign=campaign)
    assert (run.budget, run.n_human, run.n_llm, run.human_labels_read) == (5, 5, 11, 0)
    assert run.model_details["reliability"]["local-judge"]["seen"] == 0
    jury_job = wait_for_job(job.result["jury_job"], timeout=60)
    assert jury_job.status == JobStatus.SUCCEEDED, jury_job.error
    assert jury_job.result["weighting"].startswith("equal")
    local = {
        a.instance_id: a.overall_preference
        for a in Annotation.objects.filter(campaign=campaign, source=AnnotationSource.LLM).exclude(model_name="jury")
    }
    jury = Annotation.objects.filter(campaign=campaign, model_name="jury")
    assert jury.count() == 11
    for label in jury:  # a jury of one keeps its judge's direction
        judge = local[label.instance_id]
        assert (label.overall_preference > 0) == (judge > 0) and (label.overall_preference < 0) == (judge < 0)


@pytest.mark.django_db
@pytest.mark.slow
def test_the_ppm_strategy_is_not_fitted_without_enough_human_labels_and_says_why():
    from routing.campaign_routing import run_routing_job, start_routing_job

    pm, annotator = make_user("pm"), make_user("ann")
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=10, overlap=1)
    label_first(campaign, annotator, 2)
    job = start_routing_job(campaign=campaign, created_by=pm, budget=4, strategy="ppm", annotators=["local-judge"])
    run_routing_job(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    run = RoutingRun.objects.get(campaign=campaign)
    assert run.model_details["ppm"] == {
        "fitted": False,
        "reason": "the PPM needs at least 20 decisive human labels to fit on; 2 so far: routed by the error model",
    }
    assert run.n_human == 4 and run.human_labels_read == 2


@pytest.mark.django_db
@pytest.mark.slow
def test_a_first_route_draws_a_random_seed_that_a_re_route_keeps_and_tops_up():
    from routing.campaign_routing import run_routing_job, start_routing_job

    pm = make_user("pm")
    campaign = build_campaign(pm=pm, n_instances=12)
    job = start_routing_job(
        campaign=campaign, created_by=pm, budget=6, strategy="error-model",
        annotators=["local-judge"], seed_size=2,
    )  # fmt: skip
    run_routing_job(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    first = RoutingRun.objects.get(campaign=campaign)
    seed = first.model_details["seed"]
    assert (seed["size"], seed["requested"], seed["labelled"]) == (2, 2, 0)
    seeded = RoutingDecision.objects.filter(run=first, instance_id__in=seed["instance_ids"])
    # The seed is human and first in the queue (its labels are what the judges are weighed on).
    assert {d.route for d in seeded} == {Route.HUMAN}
    assert sorted(d.rank for d in seeded) == [1, 2]
    assert first.n_human == 6

    again = start_routing_job(
        campaign=campaign, created_by=pm, budget=6, strategy="error-model",
        annotators=["local-judge"], seed_size=4,
    )  # fmt: skip
    run_routing_job(job_id=again.pk)
    second = RoutingRun.objects.order_by("-id").first()
    assert second.supersedes_id == first.pk
    kept = set(second.model_details["seed"]["instance_ids"])
    assert set(seed["instance_ids"]) < kept and len(kept) == 4
