"""Agreement against hand-computed α and κ, with the items and pairs each value rests on."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotate.agreement import (
    NOT_ENOUGH_DATA,
    Rating,
    cohen_kappa,
    krippendorff_alpha,
    question_agreement,
)
from annotate.models import QueueItemKind
from annotate.selectors import agreement_report
from annotate.services.quality import ExpectedAnswer, mark_check_item
from tests.annotate.exports.helpers import label_by_human, label_by_llm
from tests.conftest import build_campaign, logged_in, make_user


def two_raters(first, second, *, source_b="human", rater_b="r2"):
    ratings = []
    for item, (a, b) in enumerate(zip(first, second, strict=True)):
        ratings += [Rating(item, "r1", "human", a), Rating(item, rater_b, source_b, b)]
    return ratings


def test_nominal_alpha_by_hand():
    # items (a,a) (a,b) (b,b) (b,b): n=8, n_a=3, n_b=5, D_o = 2/8, D_e = 2·3·5/(8·7) = 30/56,
    # α = 1 − (2/8)/(30/56) = 8/15
    assert krippendorff_alpha(ratings=two_raters("abbb", "abbb"), ordinal=False).value == pytest.approx(1.0)
    value = krippendorff_alpha(ratings=two_raters("aabb", "abbb"), ordinal=False)
    assert value.value == pytest.approx(8 / 15)
    assert (value.n_items, value.n_pairs) == (4, 4)


def test_ordinal_alpha_on_two_values_equals_nominal_by_hand():
    # With two adjacent values every ordinal distance is the same constant, so α = 8/15 again.
    assert krippendorff_alpha(ratings=two_raters([1, 1, 2, 2], [1, 2, 2, 2]), ordinal=True).value == pytest.approx(8 / 15)


def test_unweighted_kappa_by_hand():
    # (a,a) (a,b) (b,b) (b,b): p_o = 3/4; p_e = (2·1 + 2·3)/16 = 1/2; κ = (3/4 − 1/2)/(1/2) = 1/2
    pairs = [(0, "a", "a"), (1, "a", "b"), (2, "b", "b"), (3, "b", "b")]
    value = cohen_kappa(pairs=pairs, ordinal=False)
    assert value.value == pytest.approx(0.5)
    assert (value.n_items, value.n_pairs) == (4, 4)


def test_quadratic_kappa_by_hand():
    # (1,1) (2,3) (3,3): Σw·O = (2−3)² = 1; marginals r = (1,1,1), c = (1,0,2);
    # Σw·E = (r1(0·1 + 1·0 + 4·2) + r2(1·1 + 0 + 1·2) + r3(4·1 + 1·0 + 0))/3 = (8 + 3 + 4)/3 = 5;
    # κ = 1 − 1/5 = 0.8
    assert cohen_kappa(pairs=[(0, 1, 1), (1, 2, 3), (2, 3, 3)], ordinal=True).value == pytest.approx(0.8)


@pytest.mark.parametrize(
    "ratings",
    [
        two_raters([1], [2]),  # one item
        two_raters([1, 1, 1], [1, 1, 1]),  # one value only: α undefined
        [Rating(0, "r1", "human", 1), Rating(1, "r2", "human", 2)],  # nobody rated an item twice
    ],
)
def test_undefined_alpha_is_not_enough_data_never_nan(ratings):
    value = krippendorff_alpha(ratings=ratings, ordinal=True)
    assert (value.value, value.reason, value.shown) == (None, NOT_ENOUGH_DATA, NOT_ENOUGH_DATA)


def test_undefined_kappa_is_not_enough_data():
    assert cohen_kappa(pairs=[(0, 1, 1)], ordinal=True).value is None
    assert cohen_kappa(pairs=[(0, 1, 1), (1, 1, 1)], ordinal=True).shown == NOT_ENOUGH_DATA


def test_question_agreement_per_llm_and_by_tag():
    ratings = two_raters([1, 1, 2, 2], [1, 2, 2, 2])
    ratings += [Rating(0, "judge", "llm", 1), Rating(1, "judge", "llm", 1), Rating(2, "judge", "llm", 2)]
    tags = {0: ["code"], 1: ["code"], 2: ["math"], 3: ["math", "code"]}
    result = question_agreement(question="overall", ratings=ratings, ordinal=True, tags=tags)
    assert result.human_alpha.value == pytest.approx(8 / 15)
    ((model, kappa),) = result.llm_kappa
    # judge vs r1 on items 0,1,2: (1,1) (1,1) (2,2); vs r2: (1,1) (2,1) (2,2)
    expected = cohen_kappa(pairs=[(0, 1, 1), (1, 1, 1), (2, 2, 2), (0, 1, 1), (1, 2, 1), (2, 2, 2)], ordinal=True)
    assert model == "judge" and kappa == expected and kappa.n_pairs == 6 and kappa.n_items == 3
    by_tag = dict(result.by_tag)
    # code: items 0 (1,1), 1 (1,2), 3 (2,2): o: 11×2, 12, 21, 22×2 → n_1=3, n_2=3, D_o=2/6, D_e=2·9/30; α = 1 − (1/3)/(3/5) = 4/9
    assert by_tag["code"].value == pytest.approx(4 / 9)
    assert by_tag["code"].n_items == 3
    assert by_tag["math"].value is None  # items 2 and 3 both (2,2): one value


# --- the selector and the page ---------------------------------------------------------------


@pytest.fixture
def campaign(pm, annotator, second_annotator, researcher):
    return build_campaign(
        pm=pm, annotators=[annotator, second_annotator], researchers=[researcher], n_instances=2, overlap=2
    )


def test_agreement_report_reads_the_campaigns_answers(campaign, annotator, second_annotator):
    # overall: item 0 (−2, −2), item 1 (1, 2); the LLM says −1 on both
    first = label_by_human(campaign, annotator, -2)
    label_by_human(campaign, second_annotator, -2)
    second = label_by_human(campaign, annotator, 1)
    label_by_human(campaign, second_annotator, 2)
    label_by_llm(campaign, [first, second], -1, model_name="judge-x")
    report = {q.question: q for q in agreement_report(campaign=campaign)}
    overall = report["overall"]
    assert (overall.human_alpha.n_items, overall.human_alpha.n_pairs) == (2, 2)
    assert overall.human_alpha.value is not None
    assert [model for model, _ in overall.llm_kappa] == ["judge-x"]
    assert overall.llm_kappa[0][1].n_pairs == 4
    assert "justification" not in report  # text is left out


def test_the_pm_reads_the_agreement_table(campaign, pm, annotator, second_annotator):
    label_by_human(campaign, annotator, -2)
    label_by_human(campaign, second_annotator, -2)
    page = logged_in(pm).get(reverse("campaign_agreement", args=[campaign.slug]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "overall" in html and NOT_ENOUGH_DATA in html and "1 items, 1 pairs" in html


def test_agreement_covers_regular_items_only_and_the_pages_say_so(pm, annotator, second_annotator):
    """Check items are left out of the campaign's agreement: qualification items are labelled
    by candidates before they are admitted, and gold and attention items have expected
    answers (reported as accuracy on the quality page). The agreement page and the dashboard
    say which items the figures cover."""
    campaign = build_campaign(pm=pm, annotators=[annotator, second_annotator], n_instances=5, overlap=2)
    # Regular items 0 (−2, −2) and 1 (1, 2); the three items made checks below split wide.
    given = [(-2, -2), (1, 2), (2, -2), (-2, 2), (2, -2)]
    for first, second in given:
        label_by_human(campaign, annotator, first)
        label_by_human(campaign, second_annotator, second)
    items = list(campaign.instances.order_by("pk"))
    for instance, kind in zip(items[2:], (QueueItemKind.GOLD, QueueItemKind.ATTENTION, QueueItemKind.QUALIFICATION), strict=True):
        mark_check_item(
            campaign=campaign, instance=instance, kind=kind,
            expected=[ExpectedAnswer(question="overall", code="A-is-clearly-better", tolerance=4)],
        )

    overall = {q.question: q for q in agreement_report(campaign=campaign)}["overall"]
    regular = two_raters(*zip(*given[:2], strict=True))
    assert (overall.human_alpha.n_items, overall.human_alpha.n_pairs) == (2, 2)
    assert overall.human_alpha.value == pytest.approx(krippendorff_alpha(ratings=regular, ordinal=True).value)
    client = logged_in(pm)
    for name in ("campaign_agreement", "campaign_dashboard"):
        html = client.get(reverse(name, args=[campaign.slug])).content.decode()
        assert "2 regular items; check items excluded" in html
        assert "(2 items, 2 pairs)" in html and "(5 items" not in html


@pytest.mark.parametrize("who", ["other_pm", "annotator", "researcher", "outsider"])
def test_only_the_campaigns_pms_reach_the_agreement_page(campaign, annotator, researcher, outsider, who):
    other_pm = make_user("other-pm")
    build_campaign(pm=other_pm, name="Theirs", n_instances=0)
    user = {"other_pm": other_pm, "annotator": annotator, "researcher": researcher, "outsider": outsider}[who]
    assert logged_in(user).get(reverse("campaign_agreement", args=[campaign.slug])).status_code in (403, 404)


def test_anonymous_is_sent_to_log_in_from_agreement(campaign):
    from django.test import Client

    response = Client().get(reverse("campaign_agreement", args=[campaign.slug]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_tags_reach_the_agreement_report_through_the_reverse_relation_and_the_dashboard_shows_it(pm):
    """annotate reads routing's tags without importing routing; the dashboard and the
    agreement page show α by tag with the items it rests on."""
    from django.urls import reverse

    from annotate.selectors_data import instance_tags_of
    from routing.models import InstanceFeatures
    from tests.conftest import build_campaign, logged_in

    campaign = build_campaign(pm=pm, n_instances=2)
    other = build_campaign(pm=pm, name="Other", n_instances=1)
    first, second = campaign.instances.order_by("pk")
    InstanceFeatures.objects.create(instance=first, version="v1", tags=["code", "math"])
    InstanceFeatures.objects.create(instance=other.instances.get(), version="v1", tags=["chat"])
    assert instance_tags_of(campaign=campaign) == {first.pk: ["code", "math"]}

    client = logged_in(pm)
    for name in ("campaign_dashboard", "campaign_agreement"):
        page = client.get(reverse(name, args=[campaign.slug]))
        assert page.status_code == 200
        assert b"Human\xe2\x80\x93human \xce\xb1" in page.content
