"""Every URL the project routes, requested as every kind of user: only the roles the table below
allows get through, everyone else is refused (403, 404, 401, or sent to the login page).

The URLs are read from the URL conf, so a new URL fails this test until it has a row here
("add it to the matrix"). Each URL is requested with GET and with POST (the test client skips
CSRF); a method the view does not take (405) is refused to everyone alike and counts for
neither. Every request runs in a savepoint that is rolled back, so an allowed POST changes
nothing for the next one (a logout included: its session and cookie are restored).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from annotate.models import CampaignRole, ExportFile, JobRun, QualityFlag
from annotate.services.assignments import claim_next_assignment
from annotate.services.invites import create_invite
from tests.conftest import build_campaign, make_user

ROLES = (
    "site_admin", "pm", "other_pm", "annotator", "other_annotator", "researcher", "no_role", "anonymous",
)
EVERYONE = set(ROLES)
SIGNED_IN = EVERYONE - {"anonymous"}
ADMIN = {"site_admin"}
PM = {"site_admin", "pm"}
RESEARCHER = {"site_admin", "researcher"}
# Both annotators of campaign A may claim; only "annotator" holds the assignment in the URLs.
ANNOTATORS = {"annotator", "other_annotator"}
ASSIGNEE = {"annotator"}
MEMBERS = {"site_admin", "pm", "annotator", "other_annotator", "researcher"}
PUBLIC = "public"  # anyone, anonymous included, and never a refusal


@dataclass(frozen=True)
class Rule:
    """Who gets through with GET and with POST (a set of roles, or PUBLIC)."""

    get: set[str] | str
    post: set[str] | str


def both(roles) -> Rule:
    return Rule(get=roles, post=roles)


# URL name → who may pass. Campaign URLs are campaign A's (other_pm runs campaign B only).
MATRIX: dict[str, Rule] = {
    # public: sign-in, health, the API's own description, invite links
    "healthz": both(PUBLIC),
    "login": both(PUBLIC),
    "logout": both(PUBLIC),
    "accept_invite": both(PUBLIC),
    "api_schema": both(PUBLIC),
    "api_docs": both(PUBLIC),
    "api_token": both(PUBLIC),
    # pages
    "home": both(SIGNED_IN),
    "campaign_create": both(ADMIN),
    "campaign_detail": both(MEMBERS),
    "campaign_settings": both(PM),
    "campaign_clone": both(PM),
    "campaign_lifecycle": both(PM),
    "campaign_task": both(PM),
    "campaign_guidelines": both(PM),
    "label_next": both(ANNOTATORS),
    "label_claim": both(ANNOTATORS),
    "label_recent": both(ANNOTATORS),
    "label_edit": both(ASSIGNEE),
    # GET only sends an annotator back to the labelling page (e.g. after logging in again).
    "submit_label": Rule(get=ANNOTATORS, post=ASSIGNEE),
    "save_draft": both(ASSIGNEE),
    "skip_item": both(ASSIGNEE),
    "import_instances": both(PM),
    "start_llm_job": both(PM),
    "download_export": both(RESEARCHER),
    "campaign_exports": both(RESEARCHER),
    "download_export_file": both(RESEARCHER),
    "campaign_dashboard": both(PM),
    "campaign_quality": both(PM),
    "campaign_check_items": both(PM),
    "lift_quality_flag": both(PM),
    "campaign_adjudication": both(PM),
    "campaign_agreement": both(PM),
    "recompute_campaign_report": both(PM),
    "campaign_people": both(PM),
    "create_campaign_invite": both(PM),
    "revoke_campaign_invite": both(PM),
    "update_campaign_member": both(PM),
    "set_campaign_member_active": both(PM),
    "campaign_data": both(PM),
    "campaign_instance": both(PM),
    "job_detail": both(PM),  # the job's campaign's PMs and whoever started it (the PM here)
    "campaign_routing": both(PM),
    # the API
    "api_campaigns": Rule(get=SIGNED_IN, post=ADMIN),
    "api_campaign": both(MEMBERS),
    "api_instances": both({"site_admin", "pm", "researcher"}),
    "api_import": both(PM),
    "api_claim": both(ANNOTATORS),
    "api_submit": both(ASSIGNEE),
    "api_annotations": both({"site_admin", "pm", "researcher"}),
    "api_exports": both(RESEARCHER),
    "api_export_file": both(RESEARCHER),
    "api_job": both(PM),
    "api_routing_runs": both(PM),
    "api_routing_run": both(PM),
    "api_routing_decisions": both(PM),
}
# Django's admin site: staff only; its pages that take an object id are the admin's own
# (model permissions) and are requested here only where they take none.
ADMIN_SITE = both(ADMIN)
ADMIN_SITE_PUBLIC = {"admin:login", "admin:logout"}
# Refused to everyone: axes' records are written by logins, never added by hand, and the
# autocomplete endpoint refuses a request that names no model field.
ADMIN_SITE_NOBODY = {
    "admin:axes_accessattempt_add", "admin:axes_accesslog_add", "admin:axes_accessfailurelog_add",
    "admin:autocomplete",
}


def routed_patterns() -> list[tuple[str, URLPattern]]:
    """(namespaced name, pattern) for every named URL of the URL conf."""

    def walk(patterns, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, pattern.namespace or namespace)
            elif pattern.name:
                yield (f"{namespace}:{pattern.name}" if namespace else pattern.name), pattern

    return list(walk(get_resolver().url_patterns, None))


def rule_for(name: str) -> Rule | None:
    if name.startswith("admin:"):
        if name in ADMIN_SITE_NOBODY:
            return both(set())
        return both(PUBLIC) if name in ADMIN_SITE_PUBLIC else ADMIN_SITE
    return MATRIX.get(name)


def test_every_url_of_the_url_conf_is_in_the_matrix():
    missing = sorted({name for name, _ in routed_patterns() if rule_for(name) is None})
    assert missing == [], f"add these URL names to MATRIX in {Path(__file__).name}: {missing}"


def test_the_matrix_names_no_url_that_does_not_exist():
    assert set(MATRIX) - {name for name, _ in routed_patterns()} == set()


@pytest.fixture
def world(db, settings):
    """Campaign A (its PM, an annotator holding an assignment, a second annotator, a researcher),
    campaign B with its own PM, a user with no role, a site admin; and one of each object a URL
    names, all in campaign A."""
    from routing.models import RoutingRun

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    users = {
        "site_admin": make_user("admin", is_superuser=True, is_staff=True),
        "pm": make_user("pm"),
        "other_pm": make_user("otherpm"),
        "annotator": make_user("annotator1"),
        "other_annotator": make_user("annotator2"),
        "researcher": make_user("researcher"),
        "no_role": make_user("norole"),
        "anonymous": None,
    }
    campaign = build_campaign(
        pm=users["pm"], annotators=[users["annotator"], users["other_annotator"]],
        researchers=[users["researcher"]], n_instances=3,
    )
    build_campaign(pm=users["other_pm"], name="Campaign B", n_instances=1)
    assignment = claim_next_assignment(campaign=campaign, annotator=users["annotator"])
    job = JobRun.objects.create(kind="import", campaign=campaign, created_by=users["pm"])
    export = JobRun.objects.create(kind="export", campaign=campaign, created_by=users["researcher"], status="succeeded")
    relative = f"campaign-{campaign.pk}/job-{export.pk}/dpo.jsonl"
    (Path(settings.EXPORT_DIR) / relative).parent.mkdir(parents=True, exist_ok=True)
    (Path(settings.EXPORT_DIR) / relative).write_text('{"id": "x"}\n')
    export_file = ExportFile.objects.create(
        job=export, campaign=campaign, name="dpo.jsonl", path=relative,
        content_type="application/x-ndjson", size_bytes=12, rows=1,
    )
    flag = QualityFlag.objects.create(
        campaign=campaign, annotator=users["other_annotator"], rule="fast", detail="too fast"
    )
    invite = create_invite(campaign=campaign, role=CampaignRole.ANNOTATOR, created_by=users["pm"])
    membership = campaign.memberships.get(user=users["other_annotator"], role=CampaignRole.ANNOTATOR)
    run = RoutingRun.objects.create(campaign=campaign, strategy="uncertainty", budget=1, main_annotator="local-rm/test")
    parameters = {
        "slug": campaign.slug, "assignment_id": assignment.pk, "action": "pause", "format_name": "dpo",
        "file_id": export_file.pk, "flag_id": flag.pk, "invite_id": invite.invite.pk,
        "membership_id": membership.pk, "token": invite.token, "instance_id": assignment.instance_id,
        "job_id": job.pk, "run_id": run.pk,
    }
    return users, parameters


def url_of(name: str, pattern: URLPattern, parameters: dict) -> str | None:
    """The URL with its path parameters filled from the world; None for an admin object page."""
    names = set(pattern.pattern.regex.groupindex)
    if name.startswith("admin:") and names:
        if names != {"app_label"}:
            return None
        return reverse(name, kwargs={"app_label": "annotate"})
    return reverse(name, kwargs={key: parameters[key] for key in names})


def outcome(response) -> str:
    """"passed", "refused" or "not allowed" (405), or "error" for a 5xx."""
    status = response.status_code
    if status >= 500:
        return "error"
    if status == 405:
        return "not allowed"
    if status in {401, 403, 404}:
        return "refused"
    if status in {301, 302, 303, 307, 308}:
        location = response.get("Location", "")
        login_pages = (reverse(settings.LOGIN_URL), reverse("admin:login"))
        return "refused" if location.split("?")[0] in login_pages else "passed"
    return "passed"


def client_for(user) -> Client:
    client = Client(raise_request_exception=False)  # a 500 is one more wrong answer to list
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("role", ROLES)
def test_authorization_matrix(world, role):
    users, parameters = world
    client = client_for(users[role])
    wrong = []
    for name, pattern in routed_patterns():
        url = url_of(name, pattern, parameters)
        if url is None:
            continue
        rule = rule_for(name)
        if rule is None:
            wrong.append(f"{name}: not in MATRIX (add it)")
            continue
        # The admin site's views share one staff check (admin_view) for every method: GET shows it.
        for method in ("get",) if name.startswith("admin:") else ("get", "post"):
            allowed = getattr(rule, method)
            cookies = copy.deepcopy(client.cookies)
            with transaction.atomic():
                response = getattr(client, method)(url, {}) if method == "post" else client.get(url)
                transaction.set_rollback(True)
            client.cookies = cookies  # the session row is back too (a logout is undone)
            result = outcome(response)
            if result == "not allowed":
                continue
            if allowed == PUBLIC:
                # Never refused; a redirect to the login page is what a logout does.
                expected = "passed"
                if result == "refused" and response.status_code in {302, 303}:
                    result = "passed"
            else:
                expected = "passed" if role in allowed else "refused"
            if result != expected:
                wrong.append(f"{method.upper()} {url} ({name}) as {role}: {response.status_code}, expected {expected}")
            if role == "anonymous" and response.status_code in {301, 302} and expected == "refused":
                assert "login" in response["Location"], (name, response["Location"])
    assert wrong == [], "\n".join(wrong)
