"""The chat-judge job in the product: a campaign's instances judged by a configured annotator
(a real HTTP server on 127.0.0.1), stored as LLM labels read back from PostgreSQL."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

import pytest
from django.urls import reverse

from annotate.models import Annotation, AnnotationSource, JobKind, JobRun, JobStatus, QuestionKind
from annotate.services.jobs import create_job, time_limit_options
from annotate.services.llm_jobs import (
    HTTP_JUDGE_TASK,
    JobAlreadyRunning,
    UnknownLLMAnnotator,
    start_http_judge_job,
    start_local_judge_job,
)
from annotate.services.task_schemas import campaign_schema, create_task_schema
from annotate.task_templates import QuestionSpec
from config.llm_annotators import _FIELDS
from routing.http_judge import judge_task_for, run_http_judge_job
from routing.llm_annotators.openai_chat import ChatJudgeConfig, prompt_version
from tests.conftest import build_campaign, logged_in, make_user, stored_answers
from tests.routing.chat_server import chat_reply, error_reply

PROMPT_TOKENS, COMPLETION_TOKENS = 1200, 80
PRICES = {"input_price_per_mtok": 3.0, "output_price_per_mtok": 15.0}
COST_PER_REQUEST = (PROMPT_TOKENS * 3.0 + COMPLETION_TOKENS * 15.0) / 1e6


@pytest.fixture
def house_judge(settings, monkeypatch, tmp_path):
    """Configure the annotator "house-judge" against a server: ``house_judge(server, **fields)``."""
    monkeypatch.setenv("HOUSE_JUDGE_KEY", "sk-house-123")
    settings.LLM_CACHE_DIR = str(tmp_path / "llm-cache")

    def configure(server, **fields):
        entry = {
            "name": "house-judge",
            "base_url": server.base_url,
            "model": "scripted-judge",
            "api_key_env": "HOUSE_JUDGE_KEY",
            "max_retries": 1,
            "backoff_base_s": 0.01,
            "backoff_max_s": 0.02,
            "timeout_s": 5,
            **PRICES,
            **fields,
        }
        settings.LLM_ANNOTATORS = {**settings.LLM_ANNOTATORS, entry["name"]: entry}
        return entry

    return configure


def simmer_first(call) -> bool:
    """conftest's rows: response A simmers the egg, response B microwaves it."""
    return "simmer" in call.shown_a


def prefers_simmering(call):
    """Sees through the order on overall, helpfulness and truthfulness; on harmlessness it
    always favours the response shown first (so its two orders disagree)."""
    first = simmer_first(call)
    side = "A" if first else "B"
    answer = {
        "justification": f"{side} simmers the egg; microwaving it shell on can burst it.",
        "confidence": 0.8,
        "aspects": {"helpfulness": -1 if first else 1, "truthfulness": 0, "harmlessness": -1},
        "preference": -2 if first else 2,
    }
    return chat_reply(
        json.dumps(answer), prompt_tokens=PROMPT_TOKENS, completion_tokens=COMPLETION_TOKENS
    )


def answer_of(call) -> str:
    return prefers_simmering(call).body["choices"][0]["message"]["content"]


def run_job(campaign, pm) -> JobRun:
    job = create_job(
        kind=JobKind.LLM_ANNOTATION,
        campaign=campaign,
        created_by=pm,
        params={"backend": "openai_chat", "annotator": "house-judge"},
    )
    run_http_judge_job(job_id=job.pk)
    return JobRun.objects.get(pk=job.pk)


@pytest.mark.django_db
def test_the_job_labels_every_instance_from_both_orders_with_full_provenance(serve, house_judge):
    pm = make_user("pm")
    campaign = build_campaign(pm=pm, n_instances=4)
    server = serve(prefers_simmering)
    house_judge(server)

    job = run_job(campaign, pm)

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert len(server.calls) == 8
    assert {c.headers["Authorization"] for c in server.calls} == {"Bearer sk-house-123"}
    version = prompt_version(judge_task_for(schema=campaign_schema(campaign)))
    labels = Annotation.objects.filter(
        campaign=campaign, source=AnnotationSource.LLM
    ).select_related("instance")
    assert labels.count() == 4
    for label in labels:
        assert (label.model_name, label.prompt_version, label.job_id) == (
            "house-judge/scripted-judge",
            version,
            job.pk,
        )
        assert label.overall_preference == -2 and label.confidence == pytest.approx(0.8)
        assert stored_answers(label) == {
            ("overall", None): -2,
            ("helpfulness", None): -1,
            ("truthfulness", None): 0,
            ("harmlessness", None): 0,  # -1 as shown in both orders: A, then B
            ("justification", None): "A simmers the egg; microwaving it shell on can burst it.",
        }
        # What the server answered for this instance, in each order, is kept as it was sent.
        own = [c for c in server.calls if label.instance.prompt_text in c.user_prompt]
        sent = {
            ("ab" if simmer_first(c) else "ba"): prefers_simmering(c).body["choices"][0]["message"][
                "content"
            ]
            for c in own
        }
        raw = label.raw_output
        assert {order: raw["orders"][order]["raw_text"] for order in ("ab", "ba")} == sent
        assert json.loads(raw["orders"]["ba"]["raw_text"])["preference"] == 2
        assert raw["orders"]["ab"]["preference"] == raw["orders"]["ba"]["preference"] == -2
        assert raw["order_consistent"] is True
        assert raw["aspects_consistent"] == {
            "helpfulness": True,
            "truthfulness": True,
            "harmlessness": False,
        }
        assert raw["orders"]["ba"]["justification"].startswith("B simmers")
        assert raw["confidence_kind"] == "verbalised" and raw["cache_hit"] is False
        assert (raw["annotator"], raw["model"], raw["base_url"]) == (
            "house-judge",
            "scripted-judge",
            server.base_url,
        )
        assert (
            raw["prompt_tokens"] == 2 * PROMPT_TOKENS
            and raw["completion_tokens"] == 2 * COMPLETION_TOKENS
        )
        assert label.cost_usd == Decimal(str(round(2 * COST_PER_REQUEST, 6)))
    assert job.result["created"] == 4 and job.result["failed"] == 0 and job.result["judged"] == 4
    assert (
        job.result["requests"],
        job.result["prompt_tokens"],
        job.result["completion_tokens"],
    ) == (8, 8 * PROMPT_TOKENS, 8 * COMPLETION_TOKENS)
    assert job.result["cost_usd"] == pytest.approx(8 * COST_PER_REQUEST)
    assert job.result["model"] == "house-judge/scripted-judge" and job.result["version"] == version


@pytest.mark.django_db
def test_ratings_are_stored_per_response_position_whichever_order_they_were_shown_in(
    serve, house_judge
):
    pm = make_user("pm")
    campaign = build_campaign(pm=pm, n_instances=2, template="rate_then_prefer")
    attributes = ("helpfulness", "correctness", "coherence", "complexity", "verbosity")

    def judge(call):
        simmer, microwave = ("A", "B") if simmer_first(call) else ("B", "A")
        ratings = {simmer: dict.fromkeys(attributes, 4), microwave: dict.fromkeys(attributes, 1)}
        ratings[simmer]["verbosity"] = 2
        answer = {
            "preference": -2 if simmer == "A" else 2,
            "ratings": ratings,
            "confidence": 0.6,
            "justification": "x",
        }
        return chat_reply(json.dumps(answer))

    server = serve(judge)
    house_judge(server)
    assert (
        "Perfectly helpful"
        in judge_task_for(schema=campaign_schema(campaign)).ratings[0].scale[4].label
    )

    job = run_job(campaign, pm)

    assert job.status == JobStatus.SUCCEEDED, job.error
    for label in Annotation.objects.filter(campaign=campaign, source=AnnotationSource.LLM):
        answers = stored_answers(label)
        assert answers[("overall", None)] == -2
        assert [answers[(key, 0)] for key in attributes] == [4, 4, 4, 4, 2]
        assert [answers[(key, 1)] for key in attributes] == [1, 1, 1, 1, 1]
        assert label.raw_output["ratings"][0]["verbosity"] == 2


@pytest.mark.django_db
def test_items_that_fail_after_their_retries_are_counted_with_reasons_never_labelled_and_a_rerun_resumes(
    serve, house_judge
):
    pm = make_user("pm")
    campaign = build_campaign(pm=pm, n_instances=4)
    broken = {"on": True}

    def judge(call):
        if broken["on"] and "to 2:" in call.shown_a and not simmer_first(call):
            return chat_reply("I prefer the first one.")
        return prefers_simmering(call)

    server = serve(judge)
    house_judge(server)

    job = run_job(campaign, pm)

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert (job.result["created"], job.result["failed"]) == (3, 1)
    (listed,) = job.result["failures"]
    assert listed.startswith(
        "item-2: order ba: unparseable answer: the answer is not a JSON object"
    )
    assert "(after 2 requests)" in listed
    labelled = set(
        Annotation.objects.filter(campaign=campaign).values_list("instance__external_id", flat=True)
    )
    assert labelled == {"item-0", "item-1", "item-3"}
    assert (
        job.result["requests"] == 3 * 2 + 2 + 1
    )  # item-2: its B-first order twice, the other once

    # Fixed and run again: only item-2 is judged; its order that answered comes from the cache.
    broken["on"] = False
    before = len(server.calls)
    again = run_job(campaign, pm)
    assert again.status == JobStatus.SUCCEEDED, again.error
    assert (again.result["judged"], again.result["created"], again.result["failed"]) == (1, 1, 0)
    assert (again.result["requests"], again.result["cache_hits"]) == (1, 1)
    assert len(server.calls) == before + 1
    assert Annotation.objects.filter(campaign=campaign, source=AnnotationSource.LLM).count() == 4

    # Everything labelled: nothing to ask.
    assert run_job(campaign, pm).result["judged"] == 0 and len(server.calls) == before + 1


@pytest.mark.django_db
def test_a_judge_that_never_gives_a_usable_verdict_fails_the_job_with_the_reasons(
    serve, house_judge
):
    pm = make_user("pm")
    campaign = build_campaign(pm=pm, n_instances=2)
    house_judge(
        serve(lambda call: chat_reply(json.dumps(dict(json.loads(answer_of(call)), preference=7))))
    )

    job = run_job(campaign, pm)

    assert job.status == JobStatus.FAILED
    assert (
        "gave no usable verdict for any of the 2 instances" in job.error
        and "nothing was labelled" in job.error
    )
    assert [d["line"] for d in job.error_details] == ["item-0", "item-1"]
    assert "preference: 7 is not one of -2, -1, 0, 1, 2" in job.error_details[0]["message"]
    assert not Annotation.objects.filter(campaign=campaign).exists()


@pytest.mark.django_db
def test_a_refused_key_fails_the_job_with_the_servers_text(serve, house_judge):
    pm = make_user("pm")
    campaign = build_campaign(pm=pm, n_instances=3)
    house_judge(serve(lambda call: error_reply(401, "Incorrect API key provided: sk-hous***")))

    job = run_job(campaign, pm)

    assert job.status == JobStatus.FAILED
    assert "house-judge:" in job.error and "HTTP 401: Incorrect API key provided" in job.error


@pytest.mark.django_db
def test_a_missing_api_key_fails_the_job_naming_the_variable(serve, house_judge, monkeypatch):
    pm = make_user("pm")
    campaign = build_campaign(pm=pm, n_instances=1)
    server = serve(prefers_simmering)
    house_judge(server)
    monkeypatch.delenv("HOUSE_JUDGE_KEY")

    job = run_job(campaign, pm)

    assert job.status == JobStatus.FAILED and "HOUSE_JUDGE_KEY" in job.error
    assert server.calls == []


@pytest.mark.django_db
def test_the_api_key_can_come_from_a_file(serve, house_judge, monkeypatch, tmp_path):
    pm = make_user("pm")
    campaign = build_campaign(pm=pm, n_instances=1)
    server = serve(prefers_simmering)
    house_judge(server)
    monkeypatch.delenv("HOUSE_JUDGE_KEY")
    (tmp_path / "key").write_text("sk-from-file\n")
    monkeypatch.setenv("HOUSE_JUDGE_KEY_FILE", str(tmp_path / "key"))

    assert run_job(campaign, pm).status == JobStatus.SUCCEEDED
    assert {c.headers["Authorization"] for c in server.calls} == {"Bearer sk-from-file"}


@pytest.mark.django_db
def test_a_task_the_judge_can_answer_nothing_of_fails_the_job(serve, house_judge):
    pm = make_user("pm")
    campaign = build_campaign(pm=pm, n_instances=1)
    create_task_schema(
        campaign=campaign,
        questions=[QuestionSpec("notes", QuestionKind.TEXT, "Notes", max_length=100)],
    )
    server = serve(prefers_simmering)
    house_judge(server)

    job = run_job(campaign, pm)

    assert job.status == JobStatus.FAILED and "asks none of them: nothing was labelled" in job.error
    assert server.calls == []


@pytest.mark.django_db
def test_a_rating_only_task_is_judged_without_a_preference(serve, house_judge):
    pm = make_user("pm")
    campaign = build_campaign(pm=pm, n_instances=1, template="helpsteer2_rating")
    attributes = ("helpfulness", "correctness", "coherence", "complexity", "verbosity")

    def judge(call):
        assert '"preference"' not in call.user_prompt
        ratings = {"A": dict.fromkeys(attributes, 3), "B": dict.fromkeys(attributes, 3)}
        return chat_reply(
            json.dumps({"ratings": ratings, "confidence": 0.5, "justification": "same"})
        )

    house_judge(serve(judge))
    job = run_job(campaign, pm)

    assert job.status == JobStatus.SUCCEEDED, job.error
    (label,) = Annotation.objects.filter(campaign=campaign)
    assert label.overall_preference is None and stored_answers(label)[("coherence", 1)] == 3


# --- starting it --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_starting_a_chat_judge_queues_it_on_the_llm_queue_and_a_jury_runs_side_by_side(
    serve, house_judge, monkeypatch, django_capture_on_commit_callbacks
):
    from config.celery import app

    sent = []
    monkeypatch.setattr(app, "send_task", lambda name, **options: sent.append((name, options)))
    pm = make_user("pm")
    campaign = build_campaign(pm=pm, n_instances=1)
    server = serve(prefers_simmering)
    house_judge(server)
    house_judge(server, name="second-judge")

    with django_capture_on_commit_callbacks(execute=True):
        job = start_http_judge_job(campaign=campaign, created_by=pm, annotator="house-judge")
    assert sent == [
        (HTTP_JUDGE_TASK, {"args": [job.pk], "queue": "llm", **time_limit_options("llm_annotation")})
    ]
    assert job.params == {
        "backend": "openai_chat",
        "annotator": "house-judge",
        "scope": "without_human_labels",
    }

    with pytest.raises(JobAlreadyRunning, match=r"\(house-judge\) is still queued"):
        start_http_judge_job(campaign=campaign, created_by=pm, annotator="house-judge")
    start_http_judge_job(campaign=campaign, created_by=pm, annotator="second-judge")
    start_local_judge_job(campaign=campaign, created_by=pm)
    with pytest.raises(UnknownLLMAnnotator, match='no LLM annotator "gpt-9"'):
        start_http_judge_job(campaign=campaign, created_by=pm, annotator="gpt-9")


@pytest.mark.django_db
def test_a_project_manager_starts_a_configured_judge_from_the_campaign_page(
    serve, house_judge, monkeypatch
):
    from config.celery import app

    monkeypatch.setattr(app, "send_task", lambda name, **options: None)
    pm = make_user("pm")
    campaign = build_campaign(pm=pm, n_instances=1)
    house_judge(serve(prefers_simmering))
    client = logged_in(pm)

    page = client.get(reverse("campaign_detail", args=[campaign.slug])).content.decode()
    assert "Label the rest with house-judge" in page and 'value="house-judge"' in page

    response = client.post(
        reverse("start_llm_job", args=[campaign.slug]), {"annotator": "house-judge"}
    )
    job = JobRun.objects.get(campaign=campaign)
    assert response.status_code == 302 and response["Location"] == reverse(
        "job_detail", args=[job.pk]
    )
    assert job.params["annotator"] == "house-judge"
    refused = client.post(
        reverse("start_llm_job", args=[campaign.slug]), {"annotator": "nobody"}, follow=True
    )
    assert "There is no LLM annotator &quot;nobody&quot;" in refused.content.decode()


def test_every_setting_of_an_annotator_is_a_field_of_the_chat_judge_config():
    fields = {f.name for f in dataclasses.fields(ChatJudgeConfig)}
    assert set(_FIELDS) - {"api_key_env"} <= fields
    assert fields - set(_FIELDS) == {"api_key"}


@pytest.mark.worker
def test_a_real_worker_runs_the_job_the_project_manager_starts(
    serve, house_judge, celery_worker_all_queues
):
    from tests.test_end_to_end import wait_for_job

    pm = make_user("pm")
    campaign = build_campaign(pm=pm, n_instances=3)
    server = serve(prefers_simmering)
    house_judge(server)

    response = logged_in(pm).post(
        reverse("start_llm_job", args=[campaign.slug]), {"annotator": "house-judge"}
    )
    job = wait_for_job(int(response["Location"].rstrip("/").split("/")[-1]), timeout=60)

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["created"] == 3 and len(server.calls) == 6
    assert (
        Annotation.objects.filter(
            campaign=campaign, model_name="house-judge/scripted-judge"
        ).count()
        == 3
    )
