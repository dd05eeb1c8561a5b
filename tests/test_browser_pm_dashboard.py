"""A PM previews and confirms an import, then watches the dashboard update itself, in a real
browser (Playwright + Debian Chromium)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotate.models import Instance
from annotate.services.annotations import submit_annotation
from annotate.services.assignments import claim_next_assignment
from tests.conftest import build_campaign, make_user, pairwise_answers, pairwise_rows
from tests.test_browser import ARTIFACTS, browser_page  # noqa: F401

pytestmark = [pytest.mark.browser]


def log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"{username}-pw")
    page.click("button[type=submit]")


def test_pm_previews_an_import_then_confirms_it_and_the_dashboard_follows_the_labels(
    live_server,
    browser_page,  # noqa: F811
    tmp_path,
):
    page = browser_page
    pm = make_user("boss")
    annotator = make_user("worker")
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=0)
    upload = tmp_path / "rows.jsonl"
    upload.write_bytes(pairwise_rows(3, prefix="web"))

    log_in(page, live_server.url, "boss")
    page.goto(f"{live_server.url}/campaigns/{campaign.slug}/")
    page.click("text=Import instances")
    page.set_input_files("input[name=file]", str(upload))
    page.select_option("select[name=file_format]", "generic")
    page.click("button[value=preview]")
    page.wait_for_selector("#import-preview")
    assert "3 valid instances" in page.inner_text("#import-preview")
    assert not Instance.objects.filter(campaign=campaign).exists()

    page.click("#confirm-import button")
    page.wait_for_selector("text=Imported 3 instances.")
    assert Instance.objects.filter(campaign=campaign).count() == 3

    page.click("text=Dashboard")
    done = "#progress-unrouted td:nth-child(5)"
    assert page.inner_text(done) == "0"
    assignment = claim_next_assignment(campaign=campaign, annotator=annotator)
    submit_annotation(
        assignment_id=assignment.pk,
        annotator=annotator,
        answers=pairwise_answers(-1),
        time_spent_seconds=12,
    )
    # The figures poll every 15 s: the new label shows without a reload.
    # (A locator assertion, not wait_for_function: the page's CSP forbids evaluating strings.)
    expect(page.locator(done)).to_have_text("1", timeout=25_000)
    assert "worker" in page.inner_text("#dashboard-annotators")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "pm-dashboard.png"), full_page=True)
