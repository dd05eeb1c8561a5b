"""Every task type, completed with the keyboard alone in Chromium; the stored answers are read
back and compared with the keys pressed, through each assignment's recorded display order
(responses are shown in a random order per assignment)."""

from __future__ import annotations

import pytest

from annotate.models import Annotation
from tests.conftest import build_campaign, make_user, stored_answers
from tests.test_browser import browser_page, start_labelling, submit_and_wait_for_next  # noqa: F401

pytestmark = [pytest.mark.browser]

ITEMS = 10  # as the acceptance asks: ten items of each task type
HS2 = ["helpfulness", "correctness", "coherence", "complexity", "verbosity"]


def press(page, keys: list[str]) -> None:
    for key in keys:
        if key.startswith("type:"):
            page.keyboard.type(key[5:])
        else:
            page.keyboard.press(key)


def flip(display_order) -> int:
    """+1 when A was shown first, -1 when the pair was shown swapped."""
    return -1 if list(display_order)[:2] == [1, 0] else 1


def multipref_expected(order):
    s = flip(order)
    return {
        ("overall", None): -1 * s,
        ("overall_confidence", None): 3,
        ("helpfulness", None): -2 * s,
        ("helpfulness_confidence", None): 2,
        ("helpfulness_checked_reasons", None): ["concise", "correct"],
        ("truthfulness", None): 0,
        ("harmlessness", None): 2 * s,
        ("harmlessness_confidence", None): 1,
        ("harmlessness_checked_reasons", None): ["not-dangerous"],
        ("harmlessness_own_reason", None): "Clearer steps.",
    }


def rating_expected(order, extra=None):
    a, b = list(order)[:2]
    expected = {(key, a): 4 - i for i, key in enumerate(HS2)}
    expected |= {(key, b): i for i, key in enumerate(HS2)}
    return expected | (extra or {})


CASES = {
    "multipref": (
        # The digit after "]" onto a text box answers the next unanswered question (truthfulness).
        ["2", "3", "1", "2", "1", "3", "]", "3", "]", "]", "]", "5", "1", "2", "j", "type:Clearer steps."],
        multipref_expected,
    ),
    "helpsteer2_preference": (
        ["1", "j", "type:@A answers it.", "Escape", "j", "type:@B refuses."],
        lambda order: {
            ("preference_strength", None): -3 * flip(order),
            # Texts name the responses by position once stored: @A is the row's first.
            ("preference_statement", None): "@A answers it." if flip(order) == 1 else "@B answers it.",
            ("preference_elaboration", None): "@B refuses." if flip(order) == 1 else "@A refuses.",
        },
    ),
    "helpsteer2_rating": (
        ["4", "3", "2", "1", "0", "0", "1", "2", "3", "4"],
        rating_expected,
    ),
    "rate_then_prefer": (
        ["4", "3", "2", "1", "0", "0", "1", "2", "3", "4", "4"],
        lambda order: rating_expected(order, {("overall", None): 1 * flip(order)}),
    ),
    "simple_pairwise": (
        ["5", "]", "1", "j", "type:@B wins."],
        lambda order: {
            ("overall", None): 2 * flip(order),
            ("truthfulness", None): -2 * flip(order),
            ("justification", None): "@B wins." if flip(order) == 1 else "@A wins.",
        },
    ),
}


@pytest.mark.parametrize("template", sorted(CASES))
def test_each_task_type_is_completed_with_the_keyboard_alone(live_server, browser_page, template):  # noqa: F811
    page = browser_page
    keys, expected_for = CASES[template]
    annotator = make_user(f"kb-{template}"[:30])
    build_campaign(
        pm=make_user("boss"), annotators=[annotator], n_instances=ITEMS, template=template,
        randomize_response_order=True,
    )
    start_labelling(page, live_server.url, annotator.username)
    for _ in range(ITEMS):
        press(page, keys)
        submit_and_wait_for_next(page)
    page.wait_for_selector("#queue-empty")

    annotations = list(Annotation.objects.filter(annotator=annotator).select_related("assignment"))
    assert len(annotations) == ITEMS
    for annotation in annotations:
        assert stored_answers(annotation) == expected_for(annotation.assignment.display_order)


def test_the_workspace_fits_a_390_px_phone_without_horizontal_scrolling(live_server, browser_page):  # noqa: F811
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    annotator = make_user("phone")
    campaign = build_campaign(pm=make_user("boss"), annotators=[annotator], n_instances=1, template="rate_then_prefer")
    instance = campaign.instances.get()
    response = instance.responses.get(position=0)
    response.text = "```python\n" + "x = " + "1 + " * 60 + "1\n```\n\n" + "averyveryverylongwordwithoutanyspaces" * 5
    response.save()
    start_labelling(page, live_server.url, "phone")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow == 0
    boxes = page.evaluate(
        "Array.from(document.querySelectorAll('.response')).map(e => e.getBoundingClientRect().right)"
    )
    assert boxes and max(boxes) <= 390
    page.screenshot(path="test-results/workspace-390px.png", full_page=True)


def test_skip_and_flag_with_the_keyboard(live_server, browser_page):  # noqa: F811
    from annotate.models import Assignment

    page = browser_page
    annotator = make_user("skipper")
    build_campaign(pm=make_user("boss"), annotators=[annotator], n_instances=2)
    start_labelling(page, live_server.url, "skipper")
    first = page.get_attribute("#task-form", "data-assignment")
    page.keyboard.press("s")
    page.wait_for_selector("#skip-panel:not([hidden])")
    page.keyboard.press("3")  # "Flag: unsafe content"
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#task-form:not([data-assignment='{first}'])")
    skipped = Assignment.objects.get(pk=int(first))
    assert (skipped.status, skipped.skip_reason) == ("skipped", "unsafe")
    assert not Annotation.objects.exists()


def test_the_key_list_opens_with_question_mark_and_guidelines_toggle_with_g(live_server, browser_page):  # noqa: F811
    page = browser_page
    annotator = make_user("helpme")
    build_campaign(pm=make_user("boss"), annotators=[annotator], n_instances=1, guidelines_markdown="# Be kind")
    start_labelling(page, live_server.url, "helpme")
    page.keyboard.press("?")
    assert page.is_visible("#shortcuts")
    page.keyboard.press("Escape")
    assert not page.is_visible("#shortcuts")
    page.keyboard.press("?")
    page.keyboard.press("?")  # the same key hides it again
    assert not page.is_visible("#shortcuts")
    assert page.is_visible(".guidelines-body")
    page.keyboard.press("g")
    assert not page.is_visible(".guidelines-body")
