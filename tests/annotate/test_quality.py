"""Quality control: check items scored against expected answers, attention checks, the
qualification gate, rules that flag or suspend, and the PM's quality page."""

from __future__ import annotations

import pytest

from annotate.models import (
    Annotation,
    Assignment,
    AssignmentStatus,
    CampaignMembership,
    CampaignRole,
    Instance,
    QualificationResult,
    QualityFlag,
    QualityRule,
    QueueItem,
    QueueItemKind,
)
from annotate.selectors_quality import annotator_quality, check_results
from annotate.services.annotations import submit_annotation
from annotate.services.assignments import claim_next_assignment
from annotate.services.campaigns import add_member
from annotate.services.quality import (
    ExpectedAnswer,
    QualityRejected,
    mark_check_item,
    update_quality_settings,
)
from tests.conftest import LIKERT_CODES, build_campaign, logged_in, make_user, pairwise_answers


def mark(campaign, external_id: str, kind: str, expected: int, tolerance: int = 0):
    """Mark an item as a check whose overall preference is expected to be ``expected``."""
    instance = Instance.objects.get(campaign=campaign, external_id=external_id)
    return mark_check_item(
        campaign=campaign,
        instance=instance,
        kind=kind,
        expected=[ExpectedAnswer(question="overall", code=LIKERT_CODES[expected], tolerance=tolerance)],
    )


def label_one(campaign, user, overall_by_item: dict, seconds_by_item: dict | None = None):
    """Claim the next item and answer it (overall preference by item id, a tie otherwise);
    returns the item's id, or None when nothing was handed out."""
    assignment = claim_next_assignment(campaign=campaign, annotator=user)
    if assignment is None:
        return None
    item = assignment.instance.external_id
    submit_annotation(
        assignment_id=assignment.pk,
        annotator=user,
        answers=pairwise_answers(overall_by_item.get(item, 0)),
        time_spent_seconds=(seconds_by_item or {}).get(item, 20.0),
    )
    return item


def label_all(campaign, user, overall_by_item: dict, seconds_by_item: dict | None = None) -> list[str]:
    done = []
    while (item := label_one(campaign, user, overall_by_item, seconds_by_item)) is not None:
        done.append(item)
    return done


def figures_of(campaign, user):
    return next(row for row in annotator_quality(campaign=campaign) if row.annotator == user)


# Gold items -----------------------------------------------------------------------------


def test_gold_answer_within_the_tolerance_is_correct_and_outside_it_is_not(pm, annotator, second_annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator, second_annotator], n_instances=2, overlap=1)
    mark(campaign, "item-0", QueueItemKind.GOLD, expected=-2, tolerance=1)
    label_all(campaign, annotator, {"item-0": -1})  # one step off: within ±1
    label_all(campaign, second_annotator, {"item-0": 0})  # two steps off
    results = {r.annotator_id: r.correct for r in check_results(campaign=campaign)}
    assert results == {annotator.pk: True, second_annotator.pk: False}
    assert (figures_of(campaign, annotator).gold_correct, figures_of(campaign, annotator).gold_total) == (1, 1)
    assert (figures_of(campaign, second_annotator).gold_correct, figures_of(campaign, second_annotator).gold_total) == (0, 1)


def test_exact_gold_answer_accepts_only_the_expected_value(pm, annotator, second_annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator, second_annotator], n_instances=1, overlap=1)
    mark(campaign, "item-0", QueueItemKind.GOLD, expected=1, tolerance=0)
    label_all(campaign, annotator, {"item-0": 1})
    label_all(campaign, second_annotator, {"item-0": 2})
    results = {r.annotator_id: r.correct for r in check_results(campaign=campaign)}
    assert results == {annotator.pk: True, second_annotator.pk: False}


def test_gold_items_are_answered_by_every_annotator_whatever_the_overlap(pm):
    annotators = [make_user(f"gold-annotator-{i}") for i in range(3)]
    campaign = build_campaign(pm=pm, annotators=annotators, n_instances=3, overlap=1)
    mark(campaign, "item-2", QueueItemKind.GOLD, expected=0)
    done = [label_all(campaign, user, {}) for user in annotators]
    assert all("item-2" in items for items in done)
    # The regular items still follow the overlap of 1.
    assert sorted(i for items in done for i in items if i != "item-2") == ["item-0", "item-1"]


def test_marking_a_gold_item_with_an_unknown_answer_is_refused_and_changes_nothing(pm, annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=1)
    instance = Instance.objects.get(campaign=campaign, external_id="item-0")
    with pytest.raises(QualityRejected, match='"A-wins" is not an option of "overall"'):
        mark_check_item(
            campaign=campaign,
            instance=instance,
            kind=QueueItemKind.GOLD,
            expected=[ExpectedAnswer(question="overall", code="A-wins")],
        )
    with pytest.raises(QualityRejected, match='no question "vibes"'):
        mark_check_item(
            campaign=campaign,
            instance=instance,
            kind=QueueItemKind.GOLD,
            expected=[ExpectedAnswer(question="vibes", code="Tie")],
        )
    item = QueueItem.objects.get(instance=instance)
    assert item.kind == QueueItemKind.REGULAR and item.required_overlap == campaign.overlap
    assert not instance.gold_answers.exists()


def test_the_annotator_is_not_told_which_items_are_gold(pm, annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=1)
    mark(campaign, "item-0", QueueItemKind.GOLD, expected=-2)
    client = logged_in(annotator)
    client.post(f"/campaigns/{campaign.slug}/label/claim/")
    page = client.get(f"/campaigns/{campaign.slug}/label/").content.decode()
    assert "Question number 0" in page
    assert "gold" not in page.lower() and "attention" not in page.lower()


def test_the_labelling_pages_name_items_without_the_imports_id(pm, annotator):
    # A PM's ids may give check items away ("gold-3"): annotators see the database id instead.
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=1)
    instance = Instance.objects.get(campaign=campaign)
    Instance.objects.filter(pk=instance.pk).update(external_id="gold-check-3")
    mark(campaign, "gold-check-3", QueueItemKind.GOLD, expected=-2)
    client = logged_in(annotator)
    client.post(f"/campaigns/{campaign.slug}/label/claim/")
    page = client.get(f"/campaigns/{campaign.slug}/label/").content.decode()
    assert f"Item #{instance.pk}</h1>" in page and "gold" not in page.lower()
    assignment = claim_next_assignment(campaign=campaign, annotator=annotator)
    submit_annotation(assignment_id=assignment.pk, annotator=annotator, answers=pairwise_answers(0))
    recent = client.get(f"/campaigns/{campaign.slug}/label/recent/").content.decode()
    assert f"#{instance.pk}" in recent and "gold" not in recent.lower()


def kinds_in_hand_out_order(campaign, user, overall_by_item: dict | None = None) -> list[str]:
    kinds = dict(QueueItem.objects.filter(campaign=campaign).values_list("instance__external_id", "kind"))
    return [kinds[item] for item in label_all(campaign, user, overall_by_item or {})]


def test_gold_items_are_mixed_in_one_in_n_and_never_handed_out_first(pm, annotator, second_annotator):
    # The gold items are the campaign's first rows, and once the first annotator has taken
    # them they are also the items closest to their overlap: the plain hand-out order would
    # put all three first, for both annotators.
    campaign = build_campaign(pm=pm, annotators=[annotator, second_annotator], n_instances=12, overlap=2)
    for item in ("item-0", "item-1", "item-2"):
        mark(campaign, item, QueueItemKind.GOLD, expected=-2)
    update_quality_settings(campaign=campaign, gold_every=4)
    every_fourth = [QueueItemKind.GOLD if n % 4 == 3 else QueueItemKind.REGULAR for n in range(12)]
    assert kinds_in_hand_out_order(campaign, annotator) == every_fourth
    assert kinds_in_hand_out_order(campaign, second_annotator) == every_fourth


def test_a_gold_item_is_held_back_until_due_and_not_repeated_in_a_burst(pm, annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=6, overlap=1)
    mark(campaign, "item-0", QueueItemKind.GOLD, expected=0)
    mark(campaign, "item-1", QueueItemKind.GOLD, expected=0)
    update_quality_settings(campaign=campaign, gold_every=3)
    # Gold at every third item; when the regular items run out, the last gold item waits.
    assert label_all(campaign, annotator, {}) == ["item-2", "item-3", "item-0", "item-4", "item-5", "item-1"]


def test_gold_and_attention_rates_are_kept_apart(pm, annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=10, overlap=1)
    mark(campaign, "item-0", QueueItemKind.GOLD, expected=0)
    mark(campaign, "item-1", QueueItemKind.ATTENTION, expected=0)
    update_quality_settings(campaign=campaign, gold_every=3, attention_check_every=5)
    kinds = kinds_in_hand_out_order(campaign, annotator)
    assert kinds.index(QueueItemKind.GOLD) == 2 and kinds.index(QueueItemKind.ATTENTION) == 4


def test_mixed_in_gold_items_look_like_any_other_item_to_the_annotator(pm, annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=4, overlap=1)
    mark(campaign, "item-0", QueueItemKind.GOLD, expected=-2)
    update_quality_settings(campaign=campaign, gold_every=2)
    client = logged_in(annotator)
    shown = []
    for _ in range(4):
        client.post(f"/campaigns/{campaign.slug}/label/claim/")
        page = client.get(f"/campaigns/{campaign.slug}/label/").content.decode()
        assignment = claim_next_assignment(campaign=campaign, annotator=annotator)  # the lease on the page
        shown.append(assignment.instance.external_id)
        number = assignment.instance.external_id.split("-")[1]
        assert f"Question number {number}:" in page
        assert "gold" not in page.lower() and "check" not in page.lower().replace("checkbox", "")
        submit_annotation(assignment_id=assignment.pk, annotator=annotator, answers=pairwise_answers(0))
    assert shown[1] == "item-0"  # the gold item was among them, second


def test_mixed_in_gold_items_are_scored_per_annotator_on_the_quality_page(pm, annotator, second_annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator, second_annotator], n_instances=6, overlap=2)
    mark(campaign, "item-0", QueueItemKind.GOLD, expected=-2, tolerance=1)
    mark(campaign, "item-1", QueueItemKind.GOLD, expected=2)
    update_quality_settings(campaign=campaign, gold_every=2)
    label_all(campaign, annotator, {"item-0": -1, "item-1": 2})  # both right (one within ±1)
    label_all(campaign, second_annotator, {"item-0": 0, "item-1": 2})  # one right
    assert (figures_of(campaign, annotator).gold_correct, figures_of(campaign, annotator).gold_total) == (2, 2)
    assert (figures_of(campaign, second_annotator).gold_correct, figures_of(campaign, second_annotator).gold_total) == (1, 2)
    page = logged_in(pm).get(f"/campaigns/{campaign.slug}/quality/").content.decode()
    assert "2/2 (100%)" in page and "1/2 (50%)" in page
    assert 'name="gold_every"' in page


# Attention checks ------------------------------------------------------------------------


def test_attention_check_comes_one_in_n_and_a_failed_one_counts_against_the_annotator(pm, annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=6, overlap=1)
    mark(campaign, "item-5", QueueItemKind.ATTENTION, expected=2)
    update_quality_settings(campaign=campaign, attention_check_every=3)
    first_three = [label_one(campaign, annotator, {"item-5": -2}) for _ in range(3)]
    assert first_three[:2] == ["item-0", "item-1"]
    assert first_three[2] == "item-5"  # the third item is the attention check
    figures = figures_of(campaign, annotator)
    assert (figures.attention_correct, figures.attention_total) == (0, 1)
    assert figures.check_accuracy == 0.0


def test_attention_checks_are_held_back_until_one_is_due(pm, annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=3, overlap=1)
    mark(campaign, "item-0", QueueItemKind.ATTENTION, expected=0)
    update_quality_settings(campaign=campaign, attention_check_every=3)
    assert label_all(campaign, annotator, {}) == ["item-1", "item-2", "item-0"]
    assert (figures_of(campaign, annotator).attention_correct, figures_of(campaign, annotator).attention_total) == (1, 1)


# Qualification test --------------------------------------------------------------------


@pytest.fixture
def qualifying_campaign(pm, annotator, second_annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator, second_annotator], n_instances=5, overlap=2)
    mark(campaign, "item-3", QueueItemKind.QUALIFICATION, expected=-2, tolerance=1)
    mark(campaign, "item-4", QueueItemKind.QUALIFICATION, expected=2, tolerance=1)
    update_quality_settings(campaign=campaign, qualification_pass_fraction=1.0)
    return campaign


def test_qualification_items_come_before_any_real_item(qualifying_campaign, annotator):
    assert label_one(qualifying_campaign, annotator, {}) in {"item-3", "item-4"}
    assert label_one(qualifying_campaign, annotator, {}) in {"item-3", "item-4"}


def test_passing_the_qualification_test_unlocks_real_items(qualifying_campaign, annotator):
    answers = {"item-3": -2, "item-4": 1}
    assert sorted([label_one(qualifying_campaign, annotator, answers) for _ in range(2)]) == ["item-3", "item-4"]
    result = QualificationResult.objects.get(campaign=qualifying_campaign, annotator=annotator)
    assert (result.passed, result.correct, result.total) == (True, 2, 2)
    assert label_all(qualifying_campaign, annotator, answers) == ["item-0", "item-1", "item-2"]


def test_failing_the_qualification_test_blocks_real_items_with_a_message(qualifying_campaign, annotator):
    answers = {"item-3": -2, "item-4": -1}  # the second is wrong
    assert sorted(label_all(qualifying_campaign, annotator, answers)) == ["item-3", "item-4"]
    result = QualificationResult.objects.get(campaign=qualifying_campaign, annotator=annotator)
    assert (result.passed, result.correct, result.total) == (False, 1, 2)
    assert claim_next_assignment(campaign=qualifying_campaign, annotator=annotator) is None
    page = logged_in(annotator).get(f"/campaigns/{qualifying_campaign.slug}/label/").content.decode()
    assert "did not pass this campaign&#x27;s qualification test (1 of 2 correct; 100% needed)" in page
    # Their answers are kept as they were given.
    assert Annotation.objects.filter(campaign=qualifying_campaign, annotator=annotator).count() == 2


def test_a_skipped_qualification_item_counts_as_wrong(qualifying_campaign, annotator):
    from annotate.services.assignments import skip_assignment

    first = claim_next_assignment(campaign=qualifying_campaign, annotator=annotator)
    skip_assignment(assignment_id=first.pk, annotator=annotator, reason="cannot_judge")
    label_one(qualifying_campaign, annotator, {"item-3": -2, "item-4": 2})
    assert claim_next_assignment(campaign=qualifying_campaign, annotator=annotator) is None
    result = QualificationResult.objects.get(campaign=qualifying_campaign, annotator=annotator)
    assert (result.passed, result.correct, result.total) == (False, 1, 2)


# Rules ----------------------------------------------------------------------------------


def test_low_check_accuracy_suspends_after_the_threshold_and_not_before(pm, annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=4, overlap=1)
    for item in ("item-0", "item-1", "item-2"):
        mark(campaign, item, QueueItemKind.GOLD, expected=-2)
    update_quality_settings(campaign=campaign, suspend_below_check_accuracy=0.5, suspend_after_checks=3)
    wrong = {"item-0": 2, "item-1": 2, "item-2": -2}
    membership = CampaignMembership.objects.get(campaign=campaign, user=annotator, role=CampaignRole.ANNOTATOR)
    label_one(campaign, annotator, wrong)
    label_one(campaign, annotator, wrong)
    membership.refresh_from_db()
    assert membership.is_active  # 0 of 2: below 50% but fewer than 3 checks
    label_one(campaign, annotator, wrong)
    membership.refresh_from_db()
    assert not membership.is_active  # 1 of 3 checks
    assert "Accuracy on checks 1/3" in membership.suspended_reason
    flag = QualityFlag.objects.get(campaign=campaign, annotator=annotator)
    assert flag.rule == QualityRule.CHECK_ACCURACY and flag.suspended
    assert logged_in(annotator).get(f"/campaigns/{campaign.slug}/label/").status_code in (403, 404)


def test_lifting_a_suspension_restores_the_membership_and_leaves_labels_alone(pm, annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=3, overlap=1)
    mark(campaign, "item-0", QueueItemKind.GOLD, expected=-2)
    update_quality_settings(campaign=campaign, suspend_below_check_accuracy=0.9, suspend_after_checks=1)
    label_one(campaign, annotator, {"item-0": 2})
    label = Annotation.objects.get(campaign=campaign, annotator=annotator)
    flag = QualityFlag.objects.get(campaign=campaign, annotator=annotator)
    page = logged_in(pm).get(f"/campaigns/{campaign.slug}/quality/").content.decode()
    assert "Suspension: Accuracy on checks 0/1" in page
    response = logged_in(pm).post(f"/campaigns/{campaign.slug}/quality/flags/{flag.pk}/lift/")
    assert response.status_code == 302
    membership = CampaignMembership.objects.get(campaign=campaign, user=annotator, role=CampaignRole.ANNOTATOR)
    assert membership.is_active and membership.suspended_reason == ""
    flag.refresh_from_db()
    assert flag.lifted_at is not None and flag.lifted_by == pm
    # The label is unchanged, and the lifted rule does not suspend them again.
    assert label_one(campaign, annotator, {}) == "item-1"
    membership.refresh_from_db()
    assert membership.is_active
    label.refresh_from_db()
    assert label.overall_preference == 2 and label.revision == 1


def test_a_low_median_time_flags_without_suspending(pm, annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=3, overlap=1)
    update_quality_settings(campaign=campaign, flag_below_median_seconds=5.0, flag_after_items=3)
    seconds = {"item-0": 1.0, "item-1": 2.0, "item-2": 30.0}
    label_one(campaign, annotator, {}, seconds)
    label_one(campaign, annotator, {}, seconds)
    assert not QualityFlag.objects.filter(campaign=campaign).exists()  # only 2 items timed
    label_one(campaign, annotator, {}, seconds)
    flag = QualityFlag.objects.get(campaign=campaign, annotator=annotator)
    assert flag.rule == QualityRule.MEDIAN_TIME and not flag.suspended
    assert flag.detail == "Median time per item 2.0s is below 5s."
    assert CampaignMembership.objects.get(campaign=campaign, user=annotator, role=CampaignRole.ANNOTATOR).is_active


# Per-annotator figures -----------------------------------------------------------------


def test_per_annotator_figures_on_a_hand_computed_case(pm):
    a, b, c = (make_user(name) for name in ("ann-a", "ann-b", "ann-c"))
    campaign = build_campaign(pm=pm, annotators=[a, b, c], n_instances=3, overlap=3)
    mark(campaign, "item-2", QueueItemKind.GOLD, expected=-2, tolerance=1)
    label_all(campaign, a, {"item-0": -1, "item-1": 0, "item-2": -1}, {"item-0": 2.0, "item-1": 10.0, "item-2": 4.0})
    label_all(campaign, b, {"item-0": -2, "item-1": 1, "item-2": -2})
    label_all(campaign, c, {"item-0": 1, "item-1": 1, "item-2": 1})
    fa, fb, fc = (figures_of(campaign, user) for user in (a, b, c))
    # Directions on item-0: a A, b A, c B; on item-1: a tie, b B, c B (the gold item is left out).
    assert (fa.peer_agree, fa.peer_pairs) == (1, 4)
    assert (fb.peer_agree, fb.peer_pairs) == (2, 4)
    assert (fc.peer_agree, fc.peer_pairs) == (1, 4)
    # Consensus of the others: a on item-1 (b, c say B) only; c on item-0 (a, b say A) only; b never.
    assert (fa.consensus_agree, fa.consensus_items) == (0, 1)
    assert (fb.consensus_agree, fb.consensus_items) == (0, 0)
    assert (fc.consensus_agree, fc.consensus_items) == (0, 1)
    assert [(f.gold_correct, f.gold_total) for f in (fa, fb, fc)] == [(1, 1), (1, 1), (0, 1)]
    assert (fa.items, fa.median_seconds, fa.fast_items) == (3, 4.0, 1)
    page = logged_in(pm).get(f"/campaigns/{campaign.slug}/quality/").content.decode()
    assert "ann-a" in page and "1/4" in page and "4.0s" in page


# The PM pages -----------------------------------------------------------------------------


def test_pm_marks_a_gold_item_through_the_plain_form(pm, annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=2)
    instance = Instance.objects.get(campaign=campaign, external_id="item-1")
    client = logged_in(pm)
    url = f"/campaigns/{campaign.slug}/quality/items/"
    assert "item-1" in client.get(url).content.decode()
    response = client.post(
        url, {"instance": instance.pk, "kind": "gold", "question": "overall", "code": "B-is-slightly-better", "tolerance": "1"}
    )
    assert response.status_code == 302
    gold = instance.gold_answers.get()
    assert (gold.question_key, gold.expected_value, gold.tolerance) == ("overall", 1, 1)
    assert QueueItem.objects.get(instance=instance).kind == QueueItemKind.GOLD
    refused = client.post(url, {"instance": instance.pk, "kind": "gold", "question": "overall", "code": "nope"})
    assert refused.status_code == 422
    assert "is not an option of" in refused.content.decode()
    assert instance.gold_answers.get().expected_value == 1  # the earlier answer is kept


def test_pm_saves_quality_settings_and_bad_values_are_refused(pm, annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=1)
    client = logged_in(pm)
    url = f"/campaigns/{campaign.slug}/quality/"
    fields = {"suspend_after_checks": "5", "flag_after_items": "5", "fast_item_seconds": "3"}
    assert client.post(url, {**fields, "attention_check_every": "10", "qualification_pass_fraction": "0.8"}).status_code == 302
    assert campaign.quality_settings.attention_check_every == 10
    refused = client.post(url, {**fields, "qualification_pass_fraction": "1.5"})
    assert refused.status_code == 422
    campaign.quality_settings.refresh_from_db()
    assert campaign.quality_settings.qualification_pass_fraction == 0.8


@pytest.mark.parametrize("path", ["quality/", "quality/items/"])
def test_quality_pages_are_for_the_campaigns_project_managers(path, pm, annotator, researcher, outsider):
    campaign = build_campaign(pm=pm, annotators=[annotator], researchers=[researcher], n_instances=1)
    other_pm = make_user("other-pm")
    build_campaign(pm=other_pm, name="Other campaign", n_instances=0)
    url = f"/campaigns/{campaign.slug}/{path}"
    assert logged_in(pm).get(url).status_code == 200
    assert logged_in(other_pm).get(url).status_code == 404
    assert logged_in(outsider).get(url).status_code == 404
    assert logged_in(annotator).get(url).status_code == 403
    assert logged_in(researcher).get(url).status_code == 403
    from django.test import Client

    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_only_the_campaigns_project_managers_lift_flags(pm, annotator, researcher):
    campaign = build_campaign(pm=pm, annotators=[annotator], researchers=[researcher], n_instances=1)
    flag = QualityFlag.objects.create(
        campaign=campaign, annotator=annotator, rule=QualityRule.MEDIAN_TIME, detail="fast"
    )
    url = f"/campaigns/{campaign.slug}/quality/flags/{flag.pk}/lift/"
    assert logged_in(annotator).post(url).status_code == 403
    assert logged_in(researcher).post(url).status_code == 403
    flag.refresh_from_db()
    assert flag.lifted_at is None
    other = build_campaign(pm=make_user("pm2"), name="Second", n_instances=0)
    add_member(campaign=other, user=pm, role=CampaignRole.PROJECT_MANAGER)
    # A flag of this campaign cannot be lifted through another campaign's URL.
    logged_in(pm).post(f"/campaigns/{other.slug}/quality/flags/{flag.pk}/lift/")
    flag.refresh_from_db()
    assert flag.lifted_at is None


# The import file's check column ------------------------------------------------------------


def _rows_with_checks(*checks) -> bytes:
    import json

    rows = [
        {
            "id": f"checked-{i}",
            "prompt": f"Question {i}",
            "responses": [{"text": "first answer"}, {"text": "second answer"}],
            **({"check": check} if check is not None else {}),
        }
        for i, check in enumerate(checks)
    ]
    return "\n".join(json.dumps(row) for row in rows).encode()


def test_an_import_file_marks_gold_items_through_its_check_column(pm, annotator):
    from annotate.services.imports import import_instances

    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=0)
    data = _rows_with_checks(
        None, {"kind": "gold", "expected": {"overall": "A-is-clearly-better"}, "tolerance": 1}
    )
    import_instances(campaign=campaign, data=data, file_format="generic")
    regular, gold = QueueItem.objects.filter(campaign=campaign).order_by("instance__external_id")
    assert regular.kind == QueueItemKind.REGULAR and regular.required_overlap == campaign.overlap
    assert gold.kind == QueueItemKind.GOLD and gold.required_overlap > campaign.overlap
    expected = gold.instance.gold_answers.get()
    assert (expected.question_key, expected.expected_value, expected.tolerance) == ("overall", -2, 1)


def test_a_bad_check_column_rejects_the_file_with_the_line_and_imports_nothing(pm):
    from annotate.services.imports import ImportRejected, import_instances

    campaign = build_campaign(pm=pm, n_instances=0)
    data = _rows_with_checks(
        {"kind": "gold", "expected": {"overall": "Tie"}},
        {"kind": "gold", "expected": {"overall": "Much-better"}},
        {"kind": "golden", "expected": {"overall": "Tie"}},
    )
    with pytest.raises(ImportRejected) as rejected:
        import_instances(campaign=campaign, data=data, file_format="generic")
    problems = [(e.line, e.field, e.message) for e in rejected.value.errors]
    assert problems[0][:2] == (2, "check") and '"Much-better" is not an option of "overall"' in problems[0][2]
    assert problems[1][:2] == (3, "check") and '"kind" must be one of' in problems[1][2]
    assert not Instance.objects.filter(campaign=campaign).exists()


def test_one_annotators_figures_match_their_row_among_all(pm):
    a, b = make_user("solo-a"), make_user("solo-b")
    campaign = build_campaign(pm=pm, annotators=[a, b], n_instances=3, overlap=2)
    label_all(campaign, a, {"item-0": -1, "item-1": 1})
    label_all(campaign, b, {"item-0": -2, "item-1": -1, "item-2": 1})
    together = figures_of(campaign, a)
    alone = annotator_quality(campaign=campaign, annotator=a)[0]
    assert (alone.peer_agree, alone.peer_pairs, alone.items) == (together.peer_agree, together.peer_pairs, together.items)
    assert (alone.peer_agree, alone.peer_pairs) == (1, 3)


def test_the_workspace_gates_by_saved_settings_read_with_the_campaign_not_again(qualifying_campaign, annotator):
    # The views' campaign lookup brings the quality settings along (issue 18): a claim and a
    # submit-and-next over HTTP hand out qualification items first, without a query of
    # their own for the settings.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = logged_in(annotator)
    label = f"/campaigns/{qualifying_campaign.slug}/label"
    with CaptureQueriesContext(connection) as claim:
        page = client.post(f"{label}/claim/", HTTP_HX_REQUEST="true").content.decode()
    first = Assignment.objects.get(annotator=annotator, campaign=qualifying_campaign)
    assert first.instance.external_id in {"item-3", "item-4"} and "Item" in page
    with CaptureQueriesContext(connection) as submit:
        client.post(f"{label}/{first.pk}/", {"overall": "Tie", "justification": "same"}, HTTP_HX_REQUEST="true")
    second = Assignment.objects.filter(annotator=annotator, status=AssignmentStatus.LEASED).get()
    assert {first.instance.external_id, second.instance.external_id} == {"item-3", "item-4"}
    for queries in (claim, submit):
        assert not [q for q in queries.captured_queries if q["sql"].startswith('SELECT "annotate_qualitysettings"')]
