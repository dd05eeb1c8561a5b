"""The PM dashboard: progress by route, throughput, cost, annotators; SVG charts; access."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from annotate import charts
from annotate.judgements import PairwiseJudgement
from annotate.models import Annotation, AnnotationSource, CampaignRole, QueueItem, Route, SkipReason
from annotate.selectors import pseudonym_of
from annotate.selectors_dashboard import get_dashboard, get_throughput
from annotate.services.annotations import (
    LLMPairwiseLabel,
    record_llm_annotations,
    submit_annotation,
)
from annotate.services.assignments import claim_next_assignment, skip_assignment
from annotate.services.campaigns import add_member
from tests.conftest import HTMX, build_campaign, logged_in, make_user, pairwise_answers

pytestmark = pytest.mark.django_db


def label(campaign, person, *, seconds: float | None = None, preference: int = -1):
    assignment = claim_next_assignment(campaign=campaign, annotator=person)
    submit_annotation(
        assignment_id=assignment.pk,
        annotator=person,
        answers=pairwise_answers(preference),
        time_spent_seconds=seconds,
    )
    return assignment


def llm_label(campaign, external_id, *, model="judge/gpt", cost=None, raw=None):
    instance = campaign.instances.get(external_id=external_id)
    record_llm_annotations(
        campaign=campaign,
        labels=[
            LLMPairwiseLabel(
                instance_id=instance.pk,
                model_name=model,
                prompt_version="v1",
                judgement=PairwiseJudgement(overall_preference=-1),
                raw_output=raw or {},
                cost_usd=cost,
            )
        ],
    )


def set_route(campaign, route, *external_ids, priority=0):
    QueueItem.objects.filter(campaign=campaign, instance__external_id__in=external_ids).update(
        route=route, priority=priority
    )


@pytest.fixture
def routed(pm, annotator, second_annotator, researcher):
    """Overlap 2, $36/hour. item-0/1 human-routed, item-2/3 unrouted, item-4/5 LLM-routed.

    annotator labels item-2 (100 s) and item-0 (200 s); second_annotator holds a lease on
    item-2. An LLM labels item-4 ($0.002, 1000 + 200 tokens) and item-3 (no cost recorded).
    """
    campaign = build_campaign(
        pm=pm,
        annotators=[annotator, second_annotator],
        researchers=[researcher],
        n_instances=6,
        overlap=2,
    )
    campaign.human_hourly_rate_usd = Decimal("36.00")
    campaign.save(update_fields=["human_hourly_rate_usd"])
    set_route(campaign, Route.HUMAN, "item-0", priority=5)
    set_route(campaign, Route.HUMAN, "item-1")
    set_route(campaign, Route.UNROUTED, "item-2", priority=10)
    set_route(campaign, Route.LLM, "item-4", "item-5")
    assert label(campaign, annotator, seconds=100).instance.external_id == "item-2"
    assert label(campaign, annotator, seconds=200).instance.external_id == "item-0"
    assert (
        claim_next_assignment(campaign=campaign, annotator=second_annotator).instance.external_id
        == "item-2"
    )
    llm_label(campaign, "item-4", cost=0.002, raw={"prompt_tokens": 1000, "completion_tokens": 200})
    llm_label(campaign, "item-3", model="local-rm/test")
    return campaign


def test_progress_counts_done_assigned_and_remaining_labels_per_route(routed):
    progress = {row.route: row for row in get_dashboard(campaign=routed).progress}

    human, unrouted, llm = progress[Route.HUMAN], progress[Route.UNROUTED], progress[Route.LLM]
    assert (human.items, human.required, human.done, human.assigned, human.remaining) == (
        2,
        4,
        1,
        0,
        3,
    )
    assert (
        unrouted.items,
        unrouted.required,
        unrouted.done,
        unrouted.assigned,
        unrouted.remaining,
    ) == (
        2,
        4,
        1,
        1,
        2,
    )
    # An LLM label on an unrouted item is not progress of the LLM route.
    assert (llm.items, llm.done, llm.assigned, llm.remaining) == (2, 1, None, 1)
    assert [row.route for row in get_dashboard(campaign=routed).progress] == [
        "human",
        "unrouted",
        "llm",
    ]


def test_gold_items_answered_by_everyone_do_not_count_in_progress(routed):
    from annotate.services.quality import ExpectedAnswer, mark_check_item

    before = {row.route: row for row in get_dashboard(campaign=routed).progress}
    gold = routed.instances.get(external_id="item-1")
    mark_check_item(
        campaign=routed, instance=gold, kind="gold", expected=[ExpectedAnswer("overall", "A-is-clearly-better")]
    )

    human = {row.route: row for row in get_dashboard(campaign=routed).progress}[Route.HUMAN]
    # item-1 (human-routed, unlabelled) left the figures; its unbounded overlap is not "needed".
    assert (human.items, human.required, human.done) == (1, before[Route.HUMAN].required - 2, 1)


def test_cost_so_far_is_recorded_time_at_the_hourly_rate_plus_recorded_llm_cost(routed):
    cost = get_dashboard(campaign=routed).cost

    # 300 s at $36/hour = $3.00, over 2 timed labels.
    assert (cost.human_labels, cost.human_timed, cost.human_seconds) == (2, 2, 300.0)
    assert cost.human_cost_usd == Decimal("3.00")
    assert cost.human_cost_per_label_usd == Decimal("1.50")
    assert (cost.llm_labels, cost.llm_costed, cost.llm_cost_usd) == (2, 1, Decimal("0.002"))
    assert (cost.llm_prompt_tokens, cost.llm_completion_tokens, cost.llm_with_tokens) == (
        1000,
        200,
        1,
    )


def test_projected_cost_is_cost_per_label_times_labels_still_to_come(routed):
    cost = get_dashboard(campaign=routed).cost

    # Humans: 8 slots on human-routed and unrouted items, 2 submitted (a lease is not a label).
    assert cost.human_labels_remaining == 6
    assert cost.human_projected_usd == Decimal("9.00")
    # LLM: item-5 is LLM-routed and has no LLM label yet.
    assert cost.llm_labels_remaining == 1
    assert cost.llm_projected_usd == Decimal("0.002")


def test_without_an_hourly_rate_human_cost_is_unknown_not_zero(pm, annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=2)
    label(campaign, annotator, seconds=60)

    cost = get_dashboard(campaign=campaign).cost

    assert cost.human_cost_usd is None and cost.human_projected_usd is None
    assert cost.human_seconds == 60.0
    assert cost.llm_cost_per_label_usd is None and cost.llm_projected_usd is None


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime(2026, 3, day, hour, minute))


def set_created(campaign, external_id, source, when):
    Annotation.objects.filter(
        campaign=campaign, instance__external_id=external_id, source=source
    ).update(created_at=when)


def test_throughput_counts_human_and_llm_labels_per_hour_with_empty_hours(
    pm, annotator, second_annotator
):
    campaign = build_campaign(
        pm=pm, annotators=[annotator, second_annotator], n_instances=3, overlap=2
    )
    label(campaign, annotator)  # item-0
    label(campaign, second_annotator)  # item-0
    label(campaign, annotator)  # item-1
    llm_label(campaign, "item-2")
    set_created(campaign, "item-0", AnnotationSource.HUMAN, at(2, 10, 5))
    set_created(campaign, "item-1", AnnotationSource.HUMAN, at(2, 12, 59))
    set_created(campaign, "item-2", AnnotationSource.LLM, at(2, 12, 1))

    throughput = get_throughput(campaign=campaign)

    assert throughput.bucket == "hour"
    assert [(b.start, b.human, b.llm) for b in throughput.buckets] == [
        (at(2, 10), 2, 0),
        (at(2, 11), 0, 0),
        (at(2, 12), 1, 1),
    ]
    assert (throughput.human_total, throughput.llm_total, throughput.truncated) == (3, 1, False)


def test_throughput_counts_per_day_once_labels_span_more_than_two_days(pm, annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=3)
    for _ in range(3):
        label(campaign, annotator)
    set_created(campaign, "item-0", AnnotationSource.HUMAN, at(2, 23, 30))
    set_created(campaign, "item-1", AnnotationSource.HUMAN, at(2, 1, 0))
    set_created(campaign, "item-2", AnnotationSource.HUMAN, at(5, 9, 0))

    throughput = get_throughput(campaign=campaign)

    assert throughput.bucket == "day"
    assert [(b.start, b.human) for b in throughput.buckets] == [
        (at(2, 0), 2),
        (at(3, 0), 0),
        (at(4, 0), 0),
        (at(5, 0), 1),
    ]


def test_a_changed_answer_is_not_counted_again_in_throughput(pm, annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=1)
    assignment = label(campaign, annotator, preference=-1)
    submit_annotation(assignment_id=assignment.pk, annotator=annotator, answers=pairwise_answers(2))

    assert get_throughput(campaign=campaign).human_total == 1


def test_annotator_table_has_labels_median_time_last_activity_and_skips(
    pm, annotator, second_annotator
):
    campaign = build_campaign(
        pm=pm, annotators=[annotator, second_annotator], n_instances=6, overlap=2
    )
    idle = make_user("idle-annotator")
    add_member(campaign=campaign, user=idle, role=CampaignRole.ANNOTATOR)
    for seconds in (100, 200):
        label(campaign, annotator, seconds=seconds)
    for seconds in (90, 10, None, 20):
        label(campaign, second_annotator, seconds=seconds)
    skipped = claim_next_assignment(campaign=campaign, annotator=second_annotator)
    skip_assignment(
        assignment_id=skipped.pk, annotator=second_annotator, reason=SkipReason.CANNOT_JUDGE
    )

    rows = {row.username: row for row in get_dashboard(campaign=campaign).annotators}

    assert list(rows) == ["annotator2", "annotator1", "idle-annotator"]  # most labels first
    first, second, unused = rows["annotator1"], rows["annotator2"], rows["idle-annotator"]
    assert (first.labels, first.timed, first.median_seconds, first.skips) == (2, 2, 150.0, 0)
    # The median rests on the 3 labels with a recorded time.
    assert (second.labels, second.timed, second.median_seconds, second.skips) == (4, 3, 20.0, 1)
    assert (unused.labels, unused.median_seconds, unused.last_activity, unused.skips) == (
        0,
        None,
        None,
        0,
    )
    latest = Annotation.objects.filter(annotator=annotator).order_by("-created_at").first()
    assert first.last_activity == latest.created_at
    assert first.pseudonym == pseudonym_of(campaign_id=campaign.pk, user_id=annotator.pk)


def test_pm_sees_the_dashboard_with_figures_and_what_they_rest_on(routed, pm):
    response = logged_in(pm).get(reverse("campaign_dashboard", args=[routed.slug]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "<svg" in html and 'id="dashboard-figures"' in html
    assert "$3.00" in html and "$9.00" in html
    assert "300 s recorded on 2 of 2 human labels" in html
    assert "cost recorded on 1 of 2 LLM labels" in html
    assert "annotator1" in html and "annotator2" in html


def test_campaign_page_links_the_dashboard_for_pms_only(campaign, pm, annotator):
    url = reverse("campaign_dashboard", args=[campaign.slug])
    assert (
        url in logged_in(pm).get(reverse("campaign_detail", args=[campaign.slug])).content.decode()
    )
    assert (
        url
        not in logged_in(annotator)
        .get(reverse("campaign_detail", args=[campaign.slug]))
        .content.decode()
    )


def test_polling_gets_only_the_figures_fragment(routed, pm):
    response = logged_in(pm).get(reverse("campaign_dashboard", args=[routed.slug]), **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="dashboard-figures"')
    assert 'hx-trigger="every 15s"' in html
    assert "<html" not in html and "<svg" in html
    assert "HX-Request" in response["Vary"]


def test_full_page_also_polls_and_offers_a_plain_refresh_link(routed, pm):
    url = reverse("campaign_dashboard", args=[routed.slug])
    html = logged_in(pm).get(url).content.decode()

    assert "<html" in html and f'hx-get="{url}"' in html and f'href="{url}">Refresh' in html


def test_model_and_annotator_names_are_escaped_in_charts_and_tables(pm):
    evil = make_user("<script>alert('u')</script>")
    campaign = build_campaign(pm=pm, annotators=[evil], n_instances=2)
    label(campaign, evil, seconds=5)
    llm_label(campaign, "item-1", model="<script>alert('m')</script>")

    html = logged_in(pm).get(reverse("campaign_dashboard", args=[campaign.slug])).content.decode()

    assert "<script>alert(" not in html
    assert "&lt;script&gt;alert(&#x27;u&#x27;)&lt;/script&gt;" in html
    assert "&lt;script&gt;alert(&#x27;m&#x27;)&lt;/script&gt;" in html


def test_svg_charts_escape_every_label():
    svg = str(
        charts.bars(title="<b>t</b>", bars=[charts.Bar('<script>x</script>"', 3)])
        + charts.stacked_bars(
            title="s",
            bars=[charts.StackedBar("<i>", (charts.Segment("<done>", 1), charts.Segment("r", 2)))],
        )
        + charts.lines(title="l", x_labels=["<x>", "y"], series=[charts.Series("<s>", (1.0, 2.0))])
    )

    assert "<script>" not in svg and "<b>" not in svg and "<i>" not in svg and "<done>" not in svg
    assert (
        "&lt;script&gt;x&lt;/script&gt;&quot;" in svg and "&lt;s&gt;" in svg and "&lt;x&gt;" in svg
    )


def test_stacked_bar_segments_are_shares_of_their_row():
    svg = str(
        charts.stacked_bars(
            title="p",
            bars=[charts.StackedBar("r", (charts.Segment("a", 1), charts.Segment("b", 3)))],
            width=560,
        )
    )
    # The plot is 560 - 150 - 160 = 250 wide: 1 of 4 is 62.5, 3 of 4 is 187.5.
    assert 'width="62.5"' in svg and 'width="187.5"' in svg


def test_dashboard_is_for_the_campaigns_pms_only(campaign, annotator, researcher, outsider, client):
    other_pm = make_user("other-pm")
    build_campaign(pm=other_pm, name="Other campaign", n_instances=0)
    url = reverse("campaign_dashboard", args=[campaign.slug])

    assert logged_in(other_pm).get(url).status_code == 404
    assert logged_in(outsider).get(url).status_code == 404
    assert logged_in(annotator).get(url).status_code == 403
    assert logged_in(researcher).get(url).status_code == 403
    assert logged_in(annotator).get(url, **HTMX).status_code == 403
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_site_admin_sees_any_dashboard(campaign):
    admin = make_user("admin", is_superuser=True)
    assert (
        logged_in(admin).get(reverse("campaign_dashboard", args=[campaign.slug])).status_code == 200
    )


def grow(campaign, annotators, *, llm_models):
    for person in annotators:
        label(campaign, person, seconds=30)
        label(campaign, person, seconds=40)
        skipped = claim_next_assignment(campaign=campaign, annotator=person)
        skip_assignment(assignment_id=skipped.pk, annotator=person, reason=SkipReason.BROKEN)
    unlabelled = campaign.instances.filter(annotations__isnull=True).order_by("pk")
    for instance, model in zip(unlabelled, llm_models, strict=False):
        llm_label(campaign, instance.external_id, model=model, cost=0.01, raw={"prompt_tokens": 5})


@pytest.mark.parametrize("size", [1, 4])
def test_dashboard_query_count_does_not_grow_with_the_campaign(pm, size, django_assert_num_queries):
    people = [make_user(f"worker-{i}") for i in range(size)]
    campaign = build_campaign(pm=pm, annotators=people, n_instances=6 * size, overlap=2)
    grow(campaign, people, llm_models=[f"model-{i}" for i in range(size)])
    client = logged_in(pm)
    url = reverse("campaign_dashboard", args=[campaign.slug])

    # Session, user, campaign with roles (3), then the figures: 3 progress, 1 throughput,
    # 1 cost, 1 models, 4 annotators; the report (computed in the request at this size): the
    # latest report job 1, the capped label count 1, the aggregate 4, agreement 2 (questions,
    # answers over regular items), the regular-item count 1 and the instance tags 1.
    with django_assert_num_queries(23):
        assert client.get(url).status_code == 200
