"""Issue 17's "done when", walked through in a real browser as a new user would: the demo PM
logs in, sets up a MultiPref campaign from the template with expert and normal pools, imports
items with a gold item and a two-item qualification test (expected answers in the file's
``check`` column), sets the pass mark and the gold rate, and invites two annotators through
links. Each signs up, passes the qualification test and labels every item with the keyboard;
they disagree on one item, which the PM resolves on the adjudication page. The PM then reads
agreement and cost off the dashboard. No Django admin. The stored rows are read back and
compared with what was pressed (through each assignment's display order: responses are shown
in a random order per assignment)."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.management import call_command

from annotate.agreement import Rating, krippendorff_alpha
from annotate.models import (
    Adjudication,
    Annotation,
    AnnotationSource,
    Assignment,
    CampaignMembership,
    CampaignRole,
    Instance,
    QualificationResult,
    QueueItem,
    QueueItemKind,
)
from tests.browser_steps import create_campaign_from_template, log_in, save_campaign_settings
from tests.conftest import stored_answers
from tests.test_browser import ARTIFACTS, browser_page, submit_and_wait_for_next  # noqa: F401

pytestmark = [pytest.mark.browser]

PASSWORD = "a-long-Passphrase-42"
HOURLY_RATE = 360  # USD: a second of work costs $0.10, so a short session shows a cost


def row(external_id: str, check: dict | None = None) -> str:
    """One import row; its text does not repeat the id (which names the check items)."""
    n = sum(map(ord, external_id))
    record = {
        "id": external_id,
        "prompt": f"Loaf {n}: how long should I rest bread dough?",
        "responses": [
            {"model": "model-a", "text": f"Loaf {n}: an hour, until doubled."},
            {"model": "model-b", "text": f"Loaf {n}: no need, bake it at once."},
        ],
    }
    if check is not None:
        record["check"] = check
    return json.dumps(record)


IMPORT_FILE = "\n".join(
    [
        row("qual-0", {"kind": "qualification", "expected": {"overall": "A-is-clearly-better"}, "tolerance": 1}),
        row("qual-1", {"kind": "qualification", "expected": {"overall": "B-is-clearly-better"}, "tolerance": 1}),
        row("gold-0", {"kind": "gold", "expected": {"overall": "A-is-clearly-better"}, "tolerance": 1}),
        *(row(f"item-{i}") for i in range(4)),
    ]
)

# The overall preference each annotator means (by response position: negative favours the
# file's first response). They disagree on item-1 only.
MEANT = {
    "expert-ann": {"qual-0": -2, "qual-1": 2, "gold-0": -2, "item-0": -1, "item-1": -2, "item-2": 1, "item-3": -2},
    "normal-ann": {"qual-0": -1, "qual-1": 2, "gold-0": -1, "item-0": -1, "item-1": 2, "item-2": 2, "item-3": -2},
}


def flip(display_order) -> int:
    """+1 when the file's first response is shown as A, -1 when the pair is shown swapped."""
    return -1 if list(display_order)[:2] == [1, 0] else 1


def label_everything_with_the_keyboard(page, username: str) -> list[str]:
    """Label until the queue is empty; returns the items in the order they were handed out."""
    handed_out = []
    while not page.query_selector("#queue-empty"):
        assignment = Assignment.objects.select_related("instance").get(
            pk=int(page.get_attribute("#task-form", "data-assignment"))
        )
        item = assignment.instance.external_id
        handed_out.append(item)
        # Nothing on the page tells a check item from a real one.
        html = page.content().lower()
        assert "gold" not in html, html[max(0, html.find("gold") - 300) : html.find("gold") + 100]
        assert "qualification" not in page.inner_text("#task-form").lower()
        shown = MEANT[username][item] * flip(assignment.display_order)  # as the annotator sees it
        # Overall (1..5 = A clearly .. B clearly) and its confidence; then helpfulness A
        # clearly, confidence 2, reasons 1 and 3; truthfulness a tie; harmlessness B clearly,
        # confidence 1, reason 2 (the digit after "]" onto a text box answers the next question).
        keys = [str(shown + 3), "3", "1", "2", "1", "3", "]", "3", "]", "]", "]", "5", "1", "2"]
        for key in keys:
            page.keyboard.press(key)
        submit_and_wait_for_next(page)
    return handed_out


def sign_up_and_label(page, base_url: str, link: str, username: str) -> list[str]:
    page.context.clear_cookies()
    page.goto(link)
    page.fill("input[name=username]", username)
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.click("button:has-text('Make my account and join')")
    page.wait_for_load_state()
    page.click("text=Start labelling")
    page.wait_for_selector("html[data-workspace-ready] #task-form")
    return label_everything_with_the_keyboard(page, username)


def test_a_pm_runs_a_multipref_campaign_with_pools_gold_and_qualification(live_server, browser_page, tmp_path):  # noqa: F811
    page = browser_page
    base = live_server.url
    call_command("seed_demo_campaign", allow_demo_logins_without_debug=True, stdout=open("/dev/null", "w"))  # noqa: SIM115
    upload = tmp_path / "bread.jsonl"
    upload.write_text(IMPORT_FILE)

    # The demo PM creates a MultiPref campaign from the template.
    log_in(page, base, "pm", "demo-pm-pass")
    campaign = create_campaign_from_template(page, name="Bread replies", template="multipref")
    assert campaign.aggregation_policy == "multipref_majority"  # the template's own rule

    # Two annotators per item, expert and normal pools, an hourly rate.
    save_campaign_settings(
        page, base, campaign, {"overlap": "2", "pools": "normal, expert", "human_hourly_rate_usd": str(HOURLY_RATE)}
    )

    # Items with a gold item and a qualification test, from one file.
    page.goto(f"{base}/campaigns/{campaign.slug}/import/")
    page.set_input_files("input[name=file]", str(upload))
    page.select_option("select[name=file_format]", "generic")
    page.click("button[value=import]")
    page.wait_for_selector("text=Imported 7 instances.")

    # The pass mark (every qualification item right, within its tolerance) and one gold item
    # in every three.
    page.goto(f"{base}/campaigns/{campaign.slug}/quality/")
    page.fill("input[name=qualification_pass_fraction]", "1")
    page.fill("input[name=gold_every]", "3")
    page.click("section:has(h2:text('Settings and rules')) button[type=submit]")
    page.wait_for_selector("text=Quality settings saved.")
    campaign.refresh_from_db()
    assert (campaign.overlap, campaign.pools, campaign.human_hourly_rate_usd) == (2, ["normal", "expert"], HOURLY_RATE)
    kinds = dict(QueueItem.objects.filter(campaign=campaign).values_list("instance__external_id", "kind"))
    assert [kinds[f"qual-{i}"] for i in range(2)] == [QueueItemKind.QUALIFICATION] * 2
    assert kinds["gold-0"] == QueueItemKind.GOLD

    # One invite link per pool.
    links = {}
    for pool in ("expert", "normal"):
        page.goto(f"{base}/campaigns/{campaign.slug}/people/")
        page.select_option("#invite-form select[name=role]", CampaignRole.ANNOTATOR)
        page.select_option("#invite-form select[name=pool]", pool)
        page.click("#invite-form button[type=submit]")
        links[pool] = page.input_value("#invite-link")
    assert links["expert"] != links["normal"]

    # Each newcomer signs up on their link, takes the qualification test and labels everything.
    orders = {
        "expert-ann": sign_up_and_label(page, base, links["expert"], "expert-ann"),
        "normal-ann": sign_up_and_label(page, base, links["normal"], "normal-ann"),
    }
    for order in orders.values():
        # The qualification test first; then the gold item mixed in as every third real item.
        assert sorted(order[:2]) == ["qual-0", "qual-1"]
        assert [kinds[item] for item in order[2:]] == [
            QueueItemKind.REGULAR, QueueItemKind.REGULAR, QueueItemKind.GOLD, QueueItemKind.REGULAR, QueueItemKind.REGULAR
        ]
    for username, pool in (("expert-ann", "expert"), ("normal-ann", "normal")):
        membership = CampaignMembership.objects.get(campaign=campaign, user__username=username)
        assert (membership.role, membership.pool, membership.is_active) == (CampaignRole.ANNOTATOR, pool, True)
        result = QualificationResult.objects.get(campaign=campaign, annotator__username=username)
        assert (result.passed, result.correct, result.total) == (True, 2, 2)

    # The stored rows are what was pressed.
    labels = list(
        Annotation.objects.filter(campaign=campaign, source=AnnotationSource.HUMAN).select_related(
            "annotator", "instance", "assignment"
        )
    )
    assert len(labels) == 14
    for label in labels:
        s = flip(label.assignment.display_order)
        answers = stored_answers(label)
        assert label.overall_preference == MEANT[label.annotator.username][label.instance.external_id]
        assert label.pool == label.annotator.username.split("-")[0]
        assert (answers[("overall_confidence", None)], answers[("helpfulness", None)]) == (3, -2 * s)
        assert (answers[("truthfulness", None)], answers[("harmlessness", None)]) == (0, 2 * s)
        assert answers[("helpfulness_checked_reasons", None)] == ["concise", "correct"]

    # The PM sees each annotator's gold and qualification results on the quality page.
    page.context.clear_cookies()
    log_in(page, base, "pm", "demo-pm-pass")
    page.goto(f"{base}/campaigns/{campaign.slug}/quality/")
    for username in MEANT:
        figures = page.inner_text(f"#quality-table tr:has-text('{username}')")
        assert "1/1 (100%)" in figures and "passed (2/2)" in figures

    # The PM resolves the one disagreement; the annotators' labels stay as they are.
    page.goto(f"{base}/campaigns/{campaign.slug}/adjudication/")
    disputed = Instance.objects.get(campaign=campaign, external_id="item-1")
    assert page.locator("#disagreements tbody tr").count() == 1
    row_of = f"#instance-{disputed.pk}"
    assert "human_split" in page.inner_text(row_of)
    page.select_option(f"{row_of} select[name=overall_preference]", "-1")
    page.fill(f"{row_of} textarea[name=note]", "A rests the dough; B skips proofing.")
    page.click(f"{row_of} button[type=submit]")
    page.wait_for_selector("text=Final label of item-1 recorded.")
    decision = Adjudication.objects.get(campaign=campaign, instance=disputed, is_current=True)
    assert (decision.overall_preference, decision.note, decision.decided_by.username) == (
        -1, "A rests the dough; B skips proofing.", "pm"
    )
    assert sorted(
        Annotation.objects.filter(instance=disputed, source=AnnotationSource.HUMAN).values_list("overall_preference", flat=True)
    ) == [-2, 2]

    # Agreement and cost on the dashboard, against what was pressed.
    page.goto(f"{base}/campaigns/{campaign.slug}/dashboard/")
    agreement = page.inner_text("#dashboard-agreement-table tbody tr:first-child")
    # Over the four regular items only: the gold and qualification items are left out.
    pressed = [
        Rating(item=item, rater=user, source="human", value=v)
        for user, plan in MEANT.items()
        for item, v in plan.items()
        if kinds[item] == QueueItemKind.REGULAR
    ]
    alpha = krippendorff_alpha(ratings=pressed, ordinal=True)
    assert agreement.startswith("overall")
    assert f"{alpha.value:.3f} (4 items, 4 pairs)" in agreement
    assert "4 regular items; check items excluded" in page.inner_text("#dashboard-report-scope")
    seconds = sum(label.time_spent_seconds or 0 for label in labels)
    cost = (Decimal(str(seconds)) / 3600 * HOURLY_RATE).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert page.inner_text("#cost-human td:nth-child(2)") == f"${cost}"
    assert "on 14 of 14 human labels" in page.inner_text("#cost-human")
    aggregate = page.inner_text("#dashboard-report-aggregate")
    # MultiPref majority merges "slightly" into "clearly": every item but the adjudicated one
    # has a majority (qual-0: A clearly and A slightly; item-2: B slightly and B clearly).
    assert "multipref_majority policy: 7 of 7 instances have a final label" in aggregate
    assert "adjudicated 1" in aggregate
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "pm-done-when-dashboard.png"), full_page=True)
