"""An annotator labels with the keyboard in a real browser (Playwright + Debian Chromium)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from annotate.models import Annotation, Assignment
from tests.conftest import build_campaign, make_user, stored_answers

pytestmark = [pytest.mark.browser]

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-results"


@pytest.fixture
def browser_page(monkeypatch):
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but no Chromium at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium; CI requires it)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls below are plain
    # synchronous test code, not async code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        yield page
        browser.close()
        # Inside Playwright's context Django sees a running event loop, so ORM calls made by the
        # test body get a context-local connection that the test-database teardown never sees.
        # Close it here, or dropping the test database fails with "accessed by other users".
        from django.db import connections

        connections.close_all()


def test_annotator_logs_in_labels_with_the_keyboard_and_sees_the_next_item(live_server, browser_page):
    page = browser_page
    annotator = make_user("kbd")
    build_campaign(pm=make_user("boss"), annotators=[annotator], n_instances=3)

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "kbd")
    page.fill("input[name=password]", "kbd-pw")
    page.click("button[type=submit]")
    page.click("text=Start labelling")
    page.wait_for_selector("html[data-workspace-ready] #task-form")
    first_id = page.get_attribute("#task-form", "data-assignment")

    page.keyboard.press("2")  # A is slightly better
    assert page.is_checked("input[name=overall][value='A-is-slightly-better']")
    page.keyboard.press("j")
    page.keyboard.type("@A answers the question directly.")
    page.keyboard.press("Control+Enter")

    page.wait_for_selector(f"#task-form:not([data-assignment='{first_id}'])")
    assert page.locator(".notice").inner_text().startswith("Saved item")
    assert page.locator("#done-count").inner_text() == "1 done"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "labelling-next-item.png"), full_page=True)

    saved = Annotation.objects.get(assignment_id=int(first_id))
    assert saved.overall_preference == -1
    assert stored_answers(saved)[("justification", None)] == "@A answers the question directly."
    assert saved.time_spent_seconds is not None and saved.time_spent_seconds > 0
    assert Assignment.objects.filter(annotator=annotator).count() == 2


def log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"{username}-pw")
    page.click("button[type=submit]")


def start_labelling(page, base_url: str, username: str) -> None:
    """Log in, press "Start labelling" on the home page, and wait for the workspace script."""
    log_in(page, base_url, username)
    page.click("text=Start labelling")
    page.wait_for_selector("html[data-workspace-ready] #task-form")


def submit_and_wait_for_next(page) -> None:
    current = page.get_attribute("#task-form", "data-assignment")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector(f"#task-form:not([data-assignment='{current}']), #queue-empty")


def test_a_keyboard_only_session_stores_exactly_the_keys_pressed_on_every_item(live_server, browser_page):
    """After each swap the focus is on the new item, not in its text box, so 1–5 set the
    preference on every item (they used to type digits into the next justification)."""
    page = browser_page
    annotator = make_user("keys")
    build_campaign(pm=make_user("boss"), annotators=[annotator], n_instances=4)
    start_labelling(page, live_server.url, "keys")

    pressed = [("1", -2, "first @A"), ("5", 2, "second @B"), ("3", 0, "third tie"), ("4", 1, "fourth @B")]
    for key, _, text in pressed:
        page.keyboard.press(key)
        page.keyboard.press("j")
        page.keyboard.type(text)
        submit_and_wait_for_next(page)
        focused = page.evaluate("document.activeElement.tagName + '#' + document.activeElement.id")
        assert "TEXTAREA" not in focused, focused

    stored = [
        (a.overall_preference, stored_answers(a)[("justification", None)])
        for a in Annotation.objects.filter(annotator=annotator).order_by("assignment__leased_at", "id")
    ]
    assert stored == [(value, text) for _, value, text in pressed]


def test_an_ended_session_keeps_the_answer_and_returns_to_it_after_logging_in(live_server, browser_page):
    page = browser_page
    annotator = make_user("sleepy")
    build_campaign(pm=make_user("boss"), annotators=[annotator], n_instances=2)
    start_labelling(page, live_server.url, "sleepy")
    assignment_id = page.get_attribute("#task-form", "data-assignment")
    page.keyboard.press("4")
    page.keyboard.press("j")
    page.keyboard.type("kept across a lost session")
    page.keyboard.press("Escape")

    from django.contrib.sessions.models import Session

    Session.objects.all().delete()  # the session ends (expires) while the annotator is on the item
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#session-banner:not([hidden])")
    assert page.input_value("textarea[name=justification]") == "kept across a lost session"
    assert not Annotation.objects.exists()

    page.click("#session-banner a")
    page.fill("input[name=username]", "sleepy")
    page.fill("input[name=password]", "sleepy-pw")
    page.click("button[type=submit]")
    page.wait_for_selector(f"html[data-workspace-ready] #task-form[data-assignment='{assignment_id}']")
    assert page.input_value("textarea[name=justification]") == "kept across a lost session"
    assert page.is_checked("input[name=overall][value='B-is-slightly-better']")
    submit_and_wait_for_next(page)

    stored = Annotation.objects.get(assignment_id=int(assignment_id))
    assert stored.overall_preference == 1
    assert stored_answers(stored)[("justification", None)] == "kept across a lost session"


def test_a_reload_restores_the_unsubmitted_answer(live_server, browser_page):
    page = browser_page
    annotator = make_user("reloader")
    build_campaign(pm=make_user("boss"), annotators=[annotator], n_instances=2)
    start_labelling(page, live_server.url, "reloader")
    assignment_id = int(page.get_attribute("#task-form", "data-assignment"))
    page.keyboard.press("2")
    page.keyboard.press("j")
    page.keyboard.type("typed before the reload")
    # The server copy (autosaved) is what a reload on another device would see.
    for _ in range(50):
        if Assignment.objects.get(pk=assignment_id).draft.get("justification") == "typed before the reload":
            break
        page.wait_for_timeout(100)
    assert Assignment.objects.get(pk=assignment_id).draft == {
        "overall": "A-is-slightly-better",
        "justification": "typed before the reload",
    }
    page.evaluate("localStorage.clear()")
    page.reload()
    page.wait_for_selector(f"html[data-workspace-ready] #task-form[data-assignment='{assignment_id}']")
    assert page.input_value("textarea[name=justification]") == "typed before the reload"
    assert page.is_checked("input[name=overall][value='A-is-slightly-better']")


def test_back_after_leaving_the_workspace_shows_the_current_item_not_a_stale_one(
    live_server, browser_page
):
    page = browser_page
    annotator = make_user("backer")
    build_campaign(pm=make_user("boss"), annotators=[annotator], n_instances=3)
    start_labelling(page, live_server.url, "backer")
    page.keyboard.press("1")
    page.keyboard.press("j")
    page.keyboard.type("done with the first")
    submit_and_wait_for_next(page)
    current = page.get_attribute("#task-form", "data-assignment")
    page.goto(f"{live_server.url}/")
    page.go_back()
    page.wait_for_selector("html[data-workspace-ready] #task-form")
    assert page.get_attribute("#task-form", "data-assignment") == current
