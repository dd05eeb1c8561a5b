"""The REST API: the same access rules as the pages, one error shape, tokens, throttling."""

from __future__ import annotations

import json
import threading

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.authtoken.models import Token
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from annotate.models import (
    Annotation,
    AnnotationSource,
    Assignment,
    CampaignRole,
    Instance,
    JobRun,
    QueueItemKind,
)
from annotate.services.assignments import claim_next_assignment
from annotate.services.campaigns import add_member
from annotate.services.imports import import_instances
from annotate.services.quality import ExpectedAnswer, mark_check_item
from tests.conftest import build_campaign, make_user, pairwise_rows


@pytest.fixture(autouse=True)
def fresh_throttles(settings):
    """Throttle histories live in the cache; every test starts with none. (And a fast
    password hasher: these tests make many users.)"""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield
    cache.clear()


def api_client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def submit_body(overall: str = "A-is-clearly-better") -> dict:
    return {"answers": [{"question": "overall", "codes": [overall]}, {"question": "justification", "text": "@A"}]}


# --- the permission matrix ------------------------------------------------------------------------

ROLES = ["site_admin", "pm", "other_pm", "annotator", "researcher", "no_role", "anonymous"]
MEMBERS_DENIED = 403  # a member without the role
OUTSIDER = 404  # not a member: the campaign's existence is not revealed

# (url name, method) → the roles that may call it. Campaign endpoints answer 403 to other
# members and 404 to outsiders; ``anonymous`` is always 401.
ALLOWED: dict[tuple[str, str], set[str]] = {
    ("api_campaigns", "get"): {"site_admin", "pm", "other_pm", "annotator", "researcher", "no_role"},
    ("api_campaigns", "post"): {"site_admin"},
    ("api_campaign", "get"): {"site_admin", "pm", "annotator", "researcher"},
    ("api_campaign", "patch"): {"site_admin", "pm"},
    ("api_instances", "get"): {"site_admin", "pm", "researcher"},
    ("api_import", "post"): {"site_admin", "pm"},
    ("api_claim", "post"): {"annotator"},
    ("api_submit", "post"): {"annotator"},
    ("api_annotations", "get"): {"site_admin", "pm", "researcher"},
    ("api_job", "get"): {"site_admin", "pm"},
    ("api_exports", "get"): {"site_admin", "researcher"},
    ("api_exports", "post"): {"site_admin", "researcher"},
    ("api_export_file", "get"): {"site_admin", "researcher"},
}
# Outside any one campaign: a refusal is 403 (creating) or 404 (someone else's job).
NOT_CAMPAIGN_SCOPED = {("api_campaigns", "post"): 403, ("api_job", "get"): 404}
PUBLIC = {"api_token", "api_schema", "api_docs"}


def api_operations(prefix: str = "api_") -> set[tuple[str, str]]:
    """Every (url name, method) the project routes under /api/, read from the url patterns."""

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern) and (pattern.name or "").startswith(prefix):
                yield pattern

    operations = set()
    for pattern in walk(get_resolver().url_patterns):
        if pattern.name in PUBLIC or (prefix == "api_" and pattern.name.startswith("api_routing")):
            continue
        view = pattern.callback.view_class
        for method in ("get", "post", "patch", "put", "delete"):
            if hasattr(view, method):
                operations.add((pattern.name, method))
    return operations


def test_the_matrix_covers_every_api_operation():
    assert api_operations() == set(ALLOWED)


@pytest.fixture
def world(db):
    admin = make_user("admin", is_superuser=True, is_staff=True)
    pm = make_user("pm")
    annotator = make_user("annotator1")
    researcher = make_user("researcher")
    other_pm = make_user("otherpm")
    make_user("outsider")
    campaign = build_campaign(pm=pm, annotators=[annotator], researchers=[researcher], n_instances=3)
    build_campaign(pm=other_pm, name="Other campaign", n_instances=0)
    assignment = claim_next_assignment(campaign=campaign, annotator=annotator)
    job = JobRun.objects.create(kind="import", campaign=campaign, created_by=pm)
    stored = stored_export_file(campaign=campaign, created_by=researcher)
    users = {
        "site_admin": admin, "pm": pm, "other_pm": other_pm, "annotator": annotator,
        "researcher": researcher, "no_role": make_user("norole"), "anonymous": None,
    }
    args = {
        "api_campaigns": [], "api_campaign": [campaign.slug], "api_instances": [campaign.slug],
        "api_import": [campaign.slug], "api_claim": [campaign.slug],
        "api_submit": [campaign.slug, assignment.pk], "api_annotations": [campaign.slug],
        "api_job": [job.pk],
        "api_exports": [campaign.slug],
        "api_export_file": [campaign.slug, stored.pk],
    }
    return users, args


def stored_export_file(*, campaign, created_by):
    """A finished export's file on storage, as the export job leaves it."""
    from pathlib import Path

    from django.conf import settings

    from annotate.models import ExportFile

    export = JobRun.objects.create(kind="export", campaign=campaign, created_by=created_by, status="succeeded")
    relative = f"campaign-{campaign.pk}/job-{export.pk}/dpo.jsonl"
    path = Path(settings.EXPORT_DIR) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"id": "x"}\n')
    return ExportFile.objects.create(
        job=export, campaign=campaign, name="dpo.jsonl", path=relative, content_type="application/x-ndjson",
        size_bytes=path.stat().st_size, rows=1,
    )


def expected_status(name: str, method: str, role: str) -> int | None:
    """None: allowed (any status but 401/403/404)."""
    if role == "anonymous":
        return 401
    if role in ALLOWED[(name, method)]:
        return None
    if (name, method) in NOT_CAMPAIGN_SCOPED:
        return NOT_CAMPAIGN_SCOPED[(name, method)]
    if role in {"other_pm", "no_role"}:
        return OUTSIDER
    return MEMBERS_DENIED


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(world, role):
    """Every API operation, called as ``role``: the status the matrix expects."""
    users, args = world
    wrong = []
    for name, method in sorted(ALLOWED):
        body = {"patch": {"lease_minutes": 20}, "post": {}}.get(method)
        if name == "api_exports" and method == "post":
            body = {"format": "dpo", "file_type": "parquet"}
        if name == "api_submit":
            body = submit_body()
        if name == "api_campaigns" and method == "post":
            body = {"name": f"New by {role}"}
        response = getattr(api_client(users[role]), method)(reverse(name, args=args[name]), body, format="json")
        expected = expected_status(name, method, role)
        if expected is None:
            if response.status_code in {401, 403, 404}:
                wrong.append((name, method, "allowed", response.status_code, response.content))
        elif response.status_code != expected or set(response.json()["error"]) != {"code", "message", "details"}:
            wrong.append((name, method, expected, response.status_code, response.content))
    assert wrong == []


# --- authentication -------------------------------------------------------------------------------

def test_anonymous_calls_get_401_with_a_token_challenge(db):
    response = APIClient().get(reverse("api_campaigns"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["error"]["code"] == "not_authenticated"


def test_a_token_is_issued_for_a_username_and_password(pm):
    response = APIClient().post(reverse("api_token"), {"username": "pm", "password": "pm-pw"}, format="json")
    assert response.status_code == 200
    assert response.json()["token"] == Token.objects.get(user=pm).key
    listed = APIClient(HTTP_AUTHORIZATION=f"Token {response.json()['token']}").get(reverse("api_campaigns"))
    assert listed.status_code == 200


def test_a_wrong_password_is_refused_without_a_token(pm):
    response = APIClient().post(reverse("api_token"), {"username": "pm", "password": "nope"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_credentials"
    assert not Token.objects.exists()


def _rates(**rates):
    return override_settings(
        REST_FRAMEWORK={**_rest_framework(), "DEFAULT_THROTTLE_RATES": {**_rest_framework()["DEFAULT_THROTTLE_RATES"], **rates}}
    )


def _rest_framework() -> dict:
    from django.conf import settings

    return settings.REST_FRAMEWORK


def test_the_token_endpoint_answers_429_after_too_many_failures_even_with_the_right_password(pm):
    client = APIClient()
    with _rates(auth_failure="3/hour"):
        for _ in range(3):
            assert client.post(reverse("api_token"), {"username": "pm", "password": "guess"}).status_code == 400
        response = client.post(reverse("api_token"), {"username": "pm", "password": "pm-pw"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "throttled"


def test_the_token_endpoint_is_rate_limited_per_client(pm):
    client = APIClient()
    with _rates(auth="2/min"):
        assert client.post(reverse("api_token"), {"username": "pm", "password": "pm-pw"}).status_code == 200
        assert client.post(reverse("api_token"), {"username": "pm", "password": "pm-pw"}).status_code == 200
        assert client.post(reverse("api_token"), {"username": "pm", "password": "pm-pw"}).status_code == 429


def test_unknown_tokens_count_as_failures_and_are_throttled(pm):
    client = APIClient(HTTP_AUTHORIZATION="Token not-a-real-token")
    with _rates(auth_failure="2/hour"):
        assert client.get(reverse("api_campaigns")).status_code == 401
        assert client.get(reverse("api_campaigns")).status_code == 401
        assert client.get(reverse("api_campaigns")).status_code == 429
    assert api_settings.DEFAULT_THROTTLE_RATES["auth_failure"] != "2/hour"


def test_session_writes_need_the_csrf_token(campaign, pm):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(pm)
    assert client.get(reverse("api_campaign", args=[campaign.slug])).status_code == 200
    response = client.patch(reverse("api_campaign", args=[campaign.slug]), {"lease_minutes": 5}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]


# --- campaigns ------------------------------------------------------------------------------------

def test_campaign_list_shows_only_visible_campaigns_paginated(campaign, annotator, pm):
    build_campaign(pm=make_user("someone"), name="Hidden", n_instances=0)
    body = api_client(annotator).get(reverse("api_campaigns")).json()
    assert body["count"] == 1 and [c["slug"] for c in body["results"]] == [campaign.slug]
    assert set(body) == {"count", "next", "previous", "results"}


def test_lists_take_a_page_size(campaign, pm):
    body = api_client(pm).get(reverse("api_instances", args=[campaign.slug]), {"page_size": 3}).json()
    assert body["count"] == 4 and len(body["results"]) == 3 and body["next"].endswith("page=2&page_size=3")


def test_a_site_admin_creates_a_campaign_from_a_template(db):
    admin = make_user("admin", is_superuser=True)
    response = api_client(admin).post(
        reverse("api_campaigns"), {"name": "Ratings", "template": "helpsteer2_rating", "overlap": 3}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["slug"] == "ratings" and response.json()["overlap"] == 3


def test_creating_a_campaign_with_an_unknown_template_names_the_field(db):
    admin = make_user("admin", is_superuser=True)
    response = api_client(admin).post(reverse("api_campaigns"), {"name": "X", "template": "nope"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "template"


def test_the_pm_configures_overlap_lease_and_status(campaign, pm):
    response = api_client(pm).patch(
        reverse("api_campaign", args=[campaign.slug]),
        {"overlap": 3, "lease_minutes": 10, "status": "paused"},
        format="json",
    )
    assert response.status_code == 200, response.content
    campaign.refresh_from_db()
    assert (campaign.overlap, campaign.lease_minutes, campaign.status) == (3, 10, "paused")
    assert set(campaign.queue_items.values_list("required_overlap", flat=True)) == {3}


# --- instances and imports ------------------------------------------------------------------------

def test_instances_are_listed_and_filtered_by_route_and_status(campaign, pm, annotator, second_annotator):
    campaign.queue_items.filter(instance__external_id="item-0").update(route="llm")
    claim_next_assignment(campaign=campaign, annotator=annotator)
    claim_next_assignment(campaign=campaign, annotator=second_annotator)
    client = api_client(pm)
    everything = client.get(reverse("api_instances", args=[campaign.slug])).json()
    assert everything["count"] == 4
    assert everything["results"][0]["responses"][0]["model_name"] == "model-a"
    llm = client.get(reverse("api_instances", args=[campaign.slug]), {"route": "llm"}).json()
    assert [i["external_id"] for i in llm["results"]] == ["item-0"]
    full = client.get(reverse("api_instances", args=[campaign.slug]), {"status": "full"}).json()
    assert full["count"] == 2
    bad = client.get(reverse("api_instances", args=[campaign.slug]), {"status": "sideways"})
    assert bad.status_code == 400 and bad.json()["error"]["details"][0]["field"] == "status"


def upload(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def test_an_import_with_a_bad_row_is_400_with_the_row_and_imports_nothing(campaign, pm):
    rows = pairwise_rows(3, prefix="new").decode().splitlines()
    rows[1] = json.dumps({"id": "new-1", "prompt": "no responses"})
    response = api_client(pm).post(
        reverse("api_import", args=[campaign.slug]),
        {"file": upload("bad.jsonl", "\n".join(rows).encode()), "format": "generic"},
        format="multipart",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "import_rejected"
    assert [d["line"] for d in error["details"]] == [2]
    assert {"line", "field", "message"} <= set(error["details"][0])
    assert not Instance.objects.filter(campaign=campaign, external_id__startswith="new-").exists()


def test_a_good_small_import_is_201_with_the_count(campaign, pm):
    response = api_client(pm).post(
        reverse("api_import", args=[campaign.slug]),
        {"file": upload("ok.jsonl", pairwise_rows(2, prefix="new")), "format": "generic"},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert response.json()["created"] == 2


@override_settings(IMPORT_INLINE_MAX_BYTES=10)
def test_a_large_import_is_202_with_a_job_to_poll(campaign, pm):
    client = api_client(pm)
    response = client.post(
        reverse("api_import", args=[campaign.slug]),
        {"file": upload("big.jsonl", pairwise_rows(2, prefix="new")), "format": "generic"},
        format="multipart",
    )
    assert response.status_code == 202, response.content
    job = client.get(reverse("api_job", args=[response.json()["id"]])).json()
    assert job["kind"] == "import" and job["status"] in {"queued", "running", "succeeded"}


# --- queue and submissions ------------------------------------------------------------------------

def test_claim_returns_the_item_blind_with_its_questions_and_is_idempotent(campaign, annotator):
    client = api_client(annotator)
    first = client.post(reverse("api_claim", args=[campaign.slug]))
    assert first.status_code == 200
    item = first.json()
    assert [r["letter"] for r in item["responses"]] == ["A", "B"]
    assert "model_name" not in item["responses"][0]
    assert "overall" in {q["key"] for q in item["questions"]}
    assert client.post(reverse("api_claim", args=[campaign.slug])).json()["id"] == item["id"]


def test_an_annotator_is_never_shown_an_items_import_id_so_a_check_item_is_not_given_away(pm, annotator):
    """A gold item imported as "gold-0" would give itself away by that id, so no item's import
    id reaches an annotator (all items: its absence says nothing): the claim names the item by
    its database id, as the labelling page does ("Item #85"). This removed ``external_id``
    from the claim, a breaking change for annotator API clients."""
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=0)
    import_instances(campaign=campaign, data=pairwise_rows(1, prefix="gold"), file_format="generic")
    import_instances(campaign=campaign, data=pairwise_rows(3, prefix="item"), file_format="generic")
    gold = Instance.objects.get(campaign=campaign, external_id="gold-0")
    mark_check_item(
        campaign=campaign, instance=gold, kind=QueueItemKind.GOLD,
        expected=[ExpectedAnswer(question="overall", code="A-is-clearly-better")],
    )
    client = api_client(annotator)
    bodies = [
        client.get(reverse("api_campaigns")).content,
        client.get(reverse("api_campaign", args=[campaign.slug])).content,
    ]
    shown = []
    while (claim := client.post(reverse("api_claim", args=[campaign.slug]))).status_code == 200:
        item = claim.json()
        shown.append(item["item_id"])
        submitted = client.post(reverse("api_submit", args=[campaign.slug, item["id"]]), submit_body(), format="json")
        assert submitted.status_code == 201, submitted.content
        bodies += [claim.content, submitted.content]
    assert claim.status_code == 204
    instances = Instance.objects.filter(campaign=campaign)
    assert sorted(shown) == sorted(instance.pk for instance in instances)  # the gold item included
    for body in bodies:
        assert b"external_id" not in body
        for instance in instances:
            assert instance.external_id.encode() not in body, body


def test_project_managers_and_researchers_still_read_the_import_ids(campaign, pm, researcher):
    for reader in (pm, researcher):
        listed = api_client(reader).get(reverse("api_instances", args=[campaign.slug])).json()
        assert [i["external_id"] for i in listed["results"]] == [f"item-{i}" for i in range(4)]


def test_claim_is_204_when_nothing_is_left(pm, annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=0)
    assert api_client(annotator).post(reverse("api_claim", args=[campaign.slug])).status_code == 204


def test_submit_counts_once_and_a_repeat_is_200(campaign, annotator):
    client = api_client(annotator)
    item = client.post(reverse("api_claim", args=[campaign.slug])).json()
    url = reverse("api_submit", args=[campaign.slug, item["id"]])
    first = client.post(url, submit_body(), format="json")
    again = client.post(url, submit_body(), format="json")
    assert (first.status_code, again.status_code) == (201, 200), (first.content, again.content)
    assert first.json()["created"] and not again.json()["created"]
    assert Annotation.objects.filter(assignment_id=item["id"]).count() == 1


def test_answers_that_break_the_schema_are_409_with_the_reason(campaign, annotator):
    client = api_client(annotator)
    item = client.post(reverse("api_claim", args=[campaign.slug])).json()
    response = client.post(
        reverse("api_submit", args=[campaign.slug, item["id"]]),
        {"answers": [{"question": "overall", "codes": ["Much-better"]}]},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "submission_rejected"
    assert not Annotation.objects.exists()


def test_an_impossible_time_spent_is_a_400_naming_the_field_and_stores_nothing(campaign, annotator):
    client = api_client(annotator)
    item = client.post(reverse("api_claim", args=[campaign.slug])).json()
    response = client.post(
        reverse("api_submit", args=[campaign.slug, item["id"]]),
        {**submit_body(), "time_spent_seconds": 1e308},
        format="json",
    )
    assert response.status_code == 400
    assert "time_spent_seconds" in json.dumps(response.json())
    assert not Annotation.objects.exists()


def test_a_text_answer_longer_than_its_question_allows_is_409_with_the_limit(campaign, annotator):
    client = api_client(annotator)
    item = client.post(reverse("api_claim", args=[campaign.slug])).json()
    body = submit_body()
    body["answers"][1]["text"] = "@A " + "x" * 6000  # the justification allows 5000
    response = client.post(reverse("api_submit", args=[campaign.slug, item["id"]]), body, format="json")
    assert response.status_code == 409
    assert "at most 5000" in response.json()["error"]["message"]
    assert not Annotation.objects.exists()


def test_someone_elses_assignment_is_404(campaign, annotator, second_annotator):
    assignment = claim_next_assignment(campaign=campaign, annotator=annotator)
    response = api_client(second_annotator).post(
        reverse("api_submit", args=[campaign.slug, assignment.pk]), submit_body(), format="json"
    )
    assert response.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_submit_sent_twice_at_once_through_the_api_counts_once():
    pm, annotator = make_user("pm"), make_user("annotator1")
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=1)
    token = Token.objects.create(user=annotator).key
    item = APIClient(HTTP_AUTHORIZATION=f"Token {token}").post(reverse("api_claim", args=[campaign.slug])).json()
    barrier = threading.Barrier(2, timeout=30)
    statuses: list[int] = []

    def submit():
        try:
            client = APIClient(HTTP_AUTHORIZATION=f"Token {token}")
            barrier.wait()
            url = reverse("api_submit", args=[campaign.slug, item["id"]])
            statuses.append(client.post(url, submit_body(), format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200, 201]
    assert Annotation.objects.filter(campaign=campaign, source=AnnotationSource.HUMAN).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_tools_claiming_the_last_slot_at_once_get_it_once():
    pm, first, second = make_user("pm"), make_user("annotator1"), make_user("annotator2")
    campaign = build_campaign(pm=pm, annotators=[first, second], n_instances=1, overlap=1)
    tokens = [Token.objects.create(user=user).key for user in (first, second)]
    barrier = threading.Barrier(2, timeout=30)
    statuses: list[int] = []

    def claim(token: str):
        try:
            client = APIClient(HTTP_AUTHORIZATION=f"Token {token}")
            barrier.wait()
            statuses.append(client.post(reverse("api_claim", args=[campaign.slug])).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200, 204]
    assert Assignment.objects.filter(campaign=campaign).count() == 1


# --- annotations ----------------------------------------------------------------------------------

def test_annotations_carry_provenance_and_filter_by_source(campaign, annotator, researcher):
    client = api_client(annotator)
    item = client.post(reverse("api_claim", args=[campaign.slug])).json()
    client.post(reverse("api_submit", args=[campaign.slug, item["id"]]), submit_body(), format="json")
    reader = api_client(researcher)
    body = reader.get(reverse("api_annotations", args=[campaign.slug]), {"source": "human"}).json()
    assert body["count"] == 1
    label = body["results"][0]
    assert label["source"] == "human" and label["annotator"].startswith("ann-")
    assert label["guidelines_version"] == 1 and label["task_schema_version"] == 1
    assert {"question": "justification", "response_position": None, "code": None, "value": None, "text": "@A"} in label["answers"]
    assert reader.get(reverse("api_annotations", args=[campaign.slug]), {"source": "llm"}).json()["count"] == 0


def test_annotations_filter_by_pool_model_instance_and_changed_since(campaign, annotator, researcher):
    from datetime import timedelta

    from django.utils import timezone

    from tests.annotate.exports.helpers import label_by_human, label_by_llm

    first = label_by_human(campaign, annotator, 2)
    Annotation.objects.filter(instance=first).update(pool="expert")
    others = list(campaign.instances.exclude(pk=first.pk).order_by("pk"))
    label_by_llm(campaign, others[:2], -1, model_name="judge-x")
    label_by_llm(campaign, others[2:], 1, model_name="judge-y")
    Annotation.objects.filter(model_name="judge-x").update(created_at=timezone.now() - timedelta(days=3))
    reader = api_client(researcher)

    def ids(**params):
        body = reader.get(reverse("api_annotations", args=[campaign.slug]), params)
        assert body.status_code == 200, body.content
        return sorted((row["instance"], row["source"]) for row in body.json()["results"])

    assert ids(pool="expert") == [(first.external_id, "human")]
    assert ids(model_name="judge-y") == [(i.external_id, "llm") for i in others[2:]]
    assert ids(instance=others[0].external_id) == [(others[0].external_id, "llm")]
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert ids(changed_since=since) == sorted([(first.external_id, "human")] + [(i.external_id, "llm") for i in others[2:]])
    refused = reader.get(reverse("api_annotations", args=[campaign.slug]), {"changed_since": "yesterday"})
    assert refused.status_code == 400 and "changed_since" in json.dumps(refused.json())


def test_a_researcher_added_later_sees_the_labels(campaign, outsider):
    reader = api_client(outsider)
    assert reader.get(reverse("api_annotations", args=[campaign.slug])).status_code == 404
    add_member(campaign=campaign, user=outsider, role=CampaignRole.RESEARCHER)
    assert reader.get(reverse("api_annotations", args=[campaign.slug])).status_code == 200


# --- schema and docs ------------------------------------------------------------------------------

def test_the_openapi_schema_generates_without_warnings():
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_the_schema_gives_the_claimed_item_by_database_id_and_no_import_id(pm):
    client = APIClient()
    client.force_login(pm)
    components = client.get(reverse("api_schema"), {"format": "json"}).json()["components"]["schemas"]
    claimed = components["Assignment"]["properties"]
    assert "external_id" not in claimed
    assert claimed["item_id"]["type"] == "integer" and "Item #" in claimed["item_id"]["description"]
    assert "external_id" in components["Instance"]["properties"]  # project managers' and researchers' view


def test_schema_and_docs_are_served_without_a_cdn(pm):
    client = APIClient()
    client.force_login(pm)
    schema = client.get(reverse("api_schema"), {"format": "json"})
    assert schema.status_code == 200 and schema.json()["openapi"].startswith("3.")
    docs = client.get(reverse("api_docs"))
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower() and b"swagger-ui" in docs.content



def test_a_researcher_exports_through_the_api_and_downloads_the_file(db, settings, tmp_path):
    """Start an export, run its job, poll it, list it and download what it wrote."""
    import io

    import pyarrow.parquet as pq
    from django.test.utils import CaptureQueriesContext  # noqa: F401  (keeps imports local)

    from annotate.services.exports import run_export_job

    settings.EXPORT_DIR = str(tmp_path / "exports")
    pm, researcher = make_user("pm"), make_user("researcher")
    campaign = build_campaign(pm=pm, researchers=[researcher], n_instances=3)
    client = api_client(researcher)
    started = client.post(
        reverse("api_exports", args=[campaign.slug]), {"format": "raw", "file_type": "parquet"}, format="json"
    )
    assert started.status_code == 202, started.content
    run_export_job(job_id=started.json()["id"])
    job = client.get(reverse("api_job", args=[started.json()["id"]])).json()
    assert job["status"] == "succeeded", job
    listed = client.get(reverse("api_exports", args=[campaign.slug])).json()
    assert "raw" in listed["formats"]
    (export,) = listed["results"]
    data = [f for f in export["files"] if f["name"].endswith(".parquet")]
    assert data, export["files"]
    response = client.get(data[0]["download"])
    assert response.status_code == 200
    table = pq.read_table(io.BytesIO(b"".join(response.streaming_content)))
    assert table.num_rows == data[0]["rows"]
    bad = client.post(reverse("api_exports", args=[campaign.slug]), {"format": "nope"}, format="json")
    assert bad.status_code == 400 and "Unknown export format" in bad.json()["error"]["message"]
