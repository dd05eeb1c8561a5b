"""In a real browser (Playwright + Debian Chromium): the pages break no rule of their
Content-Security-Policy, and text that models, annotators and PMs write is shown as text on every
page, never run as script."""

from __future__ import annotations

import json

import pytest

from annotate.models import CampaignRole
from annotate.services.annotations import submit_annotation
from annotate.services.assignments import claim_next_assignment
from annotate.services.campaigns import add_member, create_campaign
from annotate.services.imports import import_instances
from tests.conftest import make_user, pairwise_answers
from tests.test_browser import ARTIFACTS, browser_page  # noqa: F401

pytestmark = [pytest.mark.browser]

IMG = "<img src=x onerror=window.__xss=1>"
SCRIPT = "<script>window.__xss=1</script>"
PAYLOAD = f"{IMG} {SCRIPT}"

# Collects every CSP violation a page reports, from before its first script runs.
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def log_in(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Log out")


def log_out(page, base_url: str) -> None:
    page.goto(f"{base_url}/")
    page.click("text=Log out")
    page.wait_for_selector("input[name=username]")


@pytest.fixture
def watched_page(browser_page):  # noqa: F811
    """The browser page, recording CSP violations (events and console reports)."""
    page = browser_page
    page.context.add_init_script(WATCH_CSP)
    page.csp_console = []
    page.on(
        "console",
        lambda message: page.csp_console.append(message.text)
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text
        else None,
    )
    return page


def start_labelling(page) -> dict:
    """Press "Start labelling" on the home page; the workspace's report once its script ran."""
    page.click("text=Start labelling")
    page.wait_for_selector("html[data-workspace-ready] #task-form")
    page.wait_for_load_state("networkidle")
    return report(page)


def report(page) -> dict:
    return {
        "url": page.url,
        "xss": page.evaluate("typeof window.__xss"),
        "csp": page.evaluate("window.__csp || []"),
        "text": page.inner_text("body"),
    }


def visit(page, url: str) -> dict:
    """Open ``url`` and let its scripts and HTMX requests settle; what the page reported."""
    page.goto(url)
    page.wait_for_load_state("networkidle")
    return report(page)


@pytest.fixture
def hostile_campaign(db):
    """A campaign whose every writable text carries script: its name, guidelines, prompts,
    responses, instance metadata and tags, justifications and an annotator's user name."""
    from routing.models import InstanceFeatures

    pm = make_user("boss")
    annotator = make_user("ann")
    # A user name the sign-up form would refuse, as an external identity provider might send it.
    hostile = make_user("hostile")
    hostile.username = f"{IMG}{SCRIPT}"
    hostile.first_name = IMG
    hostile.last_name = SCRIPT
    hostile.save()
    campaign = create_campaign(
        name=f"Campaign {PAYLOAD}",
        created_by=pm,
        description=f"Described {PAYLOAD}",
        guidelines_markdown=f"# Rules {IMG}\n\nBe kind. {SCRIPT}\n\n[click](javascript:window.__xss=1)",
        overlap=2,
        randomize_response_order=False,
    )
    for user in (annotator, hostile):
        add_member(campaign=campaign, user=user, role=CampaignRole.ANNOTATOR)
    rows = [
        {
            "id": f"hostile-{i}",
            "prompt": f"Prompt {i} {PAYLOAD}",
            "responses": [
                {"model": f"model {IMG}", "text": f"Response A {PAYLOAD}"},
                {"model": "model-b", "text": f"Response B {SCRIPT}"},
            ],
            "metadata": {"note": PAYLOAD, IMG: SCRIPT},
        }
        for i in range(2)
    ]
    import_instances(
        campaign=campaign, data="\n".join(json.dumps(r) for r in rows).encode(), file_format="generic"
    )
    for instance in campaign.instances.all():
        InstanceFeatures.objects.create(instance=instance, version="xss", tags=[PAYLOAD, "math"])
    # The hostile annotator labels both items, "ann" one of them, in disagreement.
    for _ in range(2):
        assignment = claim_next_assignment(campaign=campaign, annotator=hostile)
        submit_annotation(
            assignment_id=assignment.pk, annotator=hostile,
            answers=pairwise_answers(-2, justification=f"@A {PAYLOAD}"), time_spent_seconds=5,
        )
    labelled = claim_next_assignment(campaign=campaign, annotator=annotator)
    submit_annotation(
        assignment_id=labelled.pk, annotator=annotator,
        answers=pairwise_answers(2, justification=f"@B {PAYLOAD}"), time_spent_seconds=5,
    )
    return campaign, labelled.instance


PM_PAGES = [
    "/",
    "/campaigns/{slug}/",
    "/campaigns/{slug}/dashboard/",
    "/campaigns/{slug}/settings/",
    "/campaigns/{slug}/task/",
    "/campaigns/{slug}/guidelines/",
    "/campaigns/{slug}/import/",
    "/campaigns/{slug}/data/",
    "/campaigns/{slug}/data/{instance}/",
    "/campaigns/{slug}/people/",
    "/campaigns/{slug}/quality/",
    "/campaigns/{slug}/adjudication/",
    "/campaigns/{slug}/agreement/",
    "/campaigns/{slug}/routing/",
    "/api/docs/",
]


def test_the_main_pages_break_no_rule_of_the_content_security_policy(live_server, watched_page, hostile_campaign):
    page = watched_page
    campaign, instance = hostile_campaign
    log_in(page, live_server.url, "boss", "boss-pw")
    response = page.goto(f"{live_server.url}/campaigns/{campaign.slug}/")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    reports = [visit(page, live_server.url + p.format(slug=campaign.slug, instance=instance.pk)) for p in PM_PAGES]
    # Swagger UI drew the API's operations (its scripts ran).
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".opblock", timeout=20_000)
    log_out(page, live_server.url)
    log_in(page, live_server.url, "ann", "ann-pw")
    reports.append(start_labelling(page))
    violations = [(r["url"], r["csp"]) for r in reports if r["csp"]]
    assert violations == []
    assert page.csp_console == []


# Each page and hostile texts it must show as text (each page shows the campaign's name, too).
HOSTILE_PM_PAGES = {
    "/": ["Campaign " + PAYLOAD],
    "/campaigns/{slug}/": ["Campaign " + PAYLOAD],
    "/campaigns/{slug}/dashboard/": [IMG + SCRIPT],
    "/campaigns/{slug}/settings/": [],
    "/campaigns/{slug}/guidelines/": ["Be kind. " + SCRIPT],
    "/campaigns/{slug}/data/": ["Prompt 0 " + PAYLOAD],
    "/campaigns/{slug}/data/{instance}/": [
        "Response A " + PAYLOAD, "Response B " + SCRIPT, "@A " + PAYLOAD, "@B " + PAYLOAD, SCRIPT,
    ],
    "/campaigns/{slug}/adjudication/": [PAYLOAD],
    "/campaigns/{slug}/agreement/": [],
    "/campaigns/{slug}/people/": [IMG + SCRIPT],
    "/campaigns/{slug}/quality/": [],
}
HOSTILE_ADMIN_PAGES = {
    "/admin/annotate/campaign/": ["Campaign " + PAYLOAD],
    "/admin/annotate/instance/": [],
    "/admin/annotate/annotation/": [],
    "/admin/auth/user/": [IMG + SCRIPT],
}


def shown_literally(page, texts: list[str]) -> list[str]:
    """The texts that the page's body does not contain as text."""
    body = page.evaluate("document.body.textContent")
    return [text for text in texts if text not in body]


def test_hostile_text_is_shown_as_text_and_never_runs_on_any_page(
    live_server, watched_page, hostile_campaign, settings, tmp_path
):
    """Escaping alone must hold: the policy only reports here (it would block the scripts)."""
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = settings.CONTENT_SECURITY_POLICY
    settings.CONTENT_SECURITY_POLICY = None
    make_user("root", is_superuser=True, is_staff=True)
    page = watched_page
    campaign, instance = hostile_campaign
    wrong = []

    def check(report: dict, texts: list[str]) -> None:
        missing = shown_literally(page, ["Campaign " + PAYLOAD, *texts] if "/admin/" not in report["url"] else texts)
        if report["xss"] != "undefined" or report["csp"] or missing:
            wrong.append((report["url"], report["xss"], report["csp"], missing))

    log_in(page, live_server.url, "boss", "boss-pw")
    for path, texts in HOSTILE_PM_PAGES.items():
        check(visit(page, live_server.url + path.format(slug=campaign.slug, instance=instance.pk)), texts)
    # The import preview shows each row's metadata (the pages above show none).
    upload = tmp_path / f"rows {IMG}.jsonl"
    upload.write_text(json.dumps({
        "id": "new-1", "prompt": f"New {PAYLOAD}", "responses": [{"text": "a"}, {"text": "b"}],
        "metadata": {"source": PAYLOAD},
    }))
    page.goto(f"{live_server.url}/campaigns/{campaign.slug}/import/")
    page.set_input_files("input[name=file]", str(upload))
    page.select_option("select[name=file_format]", "generic")
    page.click("button[value=preview]")
    page.wait_for_selector("#import-preview")
    check(report(page), ["New " + PAYLOAD, json.dumps(PAYLOAD)[1:-1]])
    log_out(page, live_server.url)

    log_in(page, live_server.url, "ann", "ann-pw")
    check(start_labelling(page), ["Prompt 1 " + PAYLOAD, "Response A " + PAYLOAD, "Be kind. " + SCRIPT])
    log_out(page, live_server.url)

    log_in(page, live_server.url, "root", "root-pw")
    for path, texts in HOSTILE_ADMIN_PAGES.items():
        check(visit(page, live_server.url + path), texts)
    assert wrong == []
