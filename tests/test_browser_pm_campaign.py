"""A project manager sets up a campaign from a template in a real browser, imports a file with
one bad row (error shown, nothing imported), fixes it and imports it, invites an annotator
through a link, and sees the dashboard change after that annotator's label (Playwright +
Debian Chromium). The stored rows are read back and compared with what was pressed."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission

from annotate.models import (
    Annotation,
    Assignment,
    CampaignMembership,
    CampaignRole,
    Instance,
    Invite,
)
from tests.browser_steps import create_campaign_from_template, log_in, save_campaign_settings
from tests.conftest import make_user, pairwise_rows, stored_answers
from tests.test_browser import ARTIFACTS, browser_page  # noqa: F401

pytestmark = [pytest.mark.browser]


def test_pm_creates_imports_invites_and_watches_the_dashboard(live_server, browser_page, tmp_path):  # noqa: F811
    page = browser_page
    pm = make_user("lead")
    pm.user_permissions.add(Permission.objects.get(codename="add_campaign", content_type__app_label="annotate"))
    good = pairwise_rows(3, prefix="e2e").decode().splitlines()
    bad = json.loads(good[1])
    bad["responses"] = bad["responses"][:1]  # one response where the task compares a pair
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join([good[0], json.dumps(bad), good[2]]))
    fixed = tmp_path / "fixed.jsonl"
    fixed.write_text("\n".join(good))

    # Create from a template, then set two pools and the hourly rate.
    log_in(page, live_server.url, "lead", "lead-pw")
    campaign = create_campaign_from_template(page, name="Cafe replies", template="simple_pairwise")
    assert CampaignMembership.objects.filter(campaign=campaign, user=pm, role=CampaignRole.PROJECT_MANAGER).exists()
    save_campaign_settings(
        page, live_server.url, campaign, {"pools": "normal, expert", "human_hourly_rate_usd": "30"}
    )
    campaign.refresh_from_db()
    assert campaign.pools == ["normal", "expert"] and str(campaign.human_hourly_rate_usd) == "30.00"

    # A file with one bad row: every error shown, nothing imported. Fixed, it imports.
    page.goto(f"{live_server.url}/campaigns/{campaign.slug}/import/")
    page.set_input_files("input[name=file]", str(broken))
    page.select_option("select[name=file_format]", "generic")
    page.click("button[value=import]")
    page.wait_for_selector("#import-errors")
    errors = page.inner_text("#import-errors")
    assert "nothing was imported" in errors and "responses" in errors and "2" in errors
    assert not Instance.objects.filter(campaign=campaign).exists()
    page.set_input_files("input[name=file]", str(fixed))
    page.select_option("select[name=file_format]", "generic")
    page.click("button[value=import]")
    page.wait_for_selector("text=Imported 3 instances.")
    assert Instance.objects.filter(campaign=campaign).count() == 3

    # An invite link for an expert annotator, used once by a newcomer who signs up.
    page.goto(f"{live_server.url}/campaigns/{campaign.slug}/people/")
    page.select_option("#invite-form select[name=role]", CampaignRole.ANNOTATOR)
    page.select_option("#invite-form select[name=pool]", "expert")
    page.click("#invite-form button[type=submit]")
    link = page.input_value("#invite-link")
    assert link.startswith(live_server.url + "/invites/")
    page.context.clear_cookies()
    page.goto(link)
    page.fill("input[name=username]", "newcomer")
    page.fill("input[name=password1]", "a-long-Passphrase-42")
    page.fill("input[name=password2]", "a-long-Passphrase-42")
    page.click("button:has-text('Make my account and join')")
    page.wait_for_load_state()
    joined = CampaignMembership.objects.get(campaign=campaign, user__username="newcomer")
    assert (joined.role, joined.pool, joined.is_active) == (CampaignRole.ANNOTATOR, "expert", True)
    assert Invite.objects.get(campaign=campaign).used_at is not None

    # The newcomer labels one item with the keyboard.
    page.goto(f"{live_server.url}/campaigns/{campaign.slug}/")
    page.click("text=Start labelling")
    page.wait_for_selector("html[data-workspace-ready] #task-form")
    assignment_id = int(page.get_attribute("#task-form", "data-assignment"))
    page.keyboard.press("4")  # B is slightly better
    page.keyboard.press("j")
    page.keyboard.type("@B names three cafes.")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector(f"#task-form:not([data-assignment='{assignment_id}'])")
    label = Annotation.objects.get(assignment_id=assignment_id)
    # "B" is the response shown second; the campaign randomises the order, and the stored
    # preference is by response position (negative favours position 0).
    shown_second = Assignment.objects.get(pk=assignment_id).display_order[1]
    assert (label.overall_preference, label.pool) == (1 if shown_second == 1 else -1, "expert")
    # Mentions of @A/@B are stored by response position too.
    named = "@B" if shown_second == 1 else "@A"
    assert stored_answers(label)[("justification", None)] == f"{named} names three cafes."

    # Back as the PM: the dashboard counts the label and names the annotator.
    page.context.clear_cookies()
    log_in(page, live_server.url, "lead", "lead-pw")
    page.goto(f"{live_server.url}/campaigns/{campaign.slug}/dashboard/")
    assert page.inner_text("#progress-unrouted td:nth-child(5)") == "1"
    assert "newcomer" in page.inner_text("#dashboard-annotators")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "pm-campaign-dashboard.png"), full_page=True)
