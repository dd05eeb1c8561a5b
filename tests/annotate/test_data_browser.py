"""The PM's data browser: every filter narrows to exactly the instances it names, filters
combine in a shareable URL, a page costs a bounded number of queries; one instance shows every
label (human, imported, LLM) side by side with its final label, all text escaped."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from annotate.judgements import PairwiseJudgement
from annotate.models import Instance, QueueItem, Route, SkipReason
from annotate.selectors import pseudonym_of
from annotate.services.annotations import (
    LLMPairwiseLabel,
    record_llm_annotations,
    submit_annotation,
)
from annotate.services.assignments import claim_next_assignment, skip_assignment
from annotate.services.imports import import_instances
from tests.conftest import build_campaign, logged_in, pairwise_answers


def hh_row(prompt: str, chosen: str, rejected: str) -> bytes:
    return json.dumps(
        {"chosen": f"\n\nHuman: {prompt}\n\nAssistant: {chosen}", "rejected": f"\n\nHuman: {prompt}\n\nAssistant: {rejected}"}
    ).encode()


def label(campaign, user, overall: int):
    assignment = claim_next_assignment(campaign=campaign, annotator=user)
    submit_annotation(assignment_id=assignment.pk, annotator=user, answers=pairwise_answers(overall))
    return assignment.instance.external_id


def llm_label(campaign, instance, overall: int, *, model="judge-x", prompt_version="p3", confidence=0.8):
    record_llm_annotations(
        campaign=campaign,
        labels=[
            LLMPairwiseLabel(
                instance_id=instance.pk,
                model_name=model,
                prompt_version=prompt_version,
                judgement=PairwiseJudgement(overall_preference=overall, confidence=confidence),
                raw_output={},
            )
        ],
    )


@pytest.fixture
def browsed(pm, annotator, second_annotator):
    """item-0: two humans agree; item-1: two humans disagree; item-2: LLM-routed with an LLM
    label; item-3: flagged by one, skipped by the other; item-4: skipped by one, leased by the
    other; item-5: human-routed and tagged, untouched; hh-…: an imported label only."""
    from routing.models import InstanceFeatures

    campaign = build_campaign(pm=pm, annotators=[annotator, second_annotator], n_instances=6, overlap=2)
    item = {i.external_id: i for i in Instance.objects.filter(campaign=campaign)}
    QueueItem.objects.filter(instance=item["item-2"]).update(route=Route.LLM)
    QueueItem.objects.filter(instance=item["item-5"]).update(route=Route.HUMAN)
    assert label(campaign, annotator, -1) == "item-0"
    assert label(campaign, second_annotator, -2) == "item-0"
    assert label(campaign, annotator, -1) == "item-1"
    assert label(campaign, second_annotator, 1) == "item-1"
    llm_label(campaign, item["item-2"], 2)
    flagged = claim_next_assignment(campaign=campaign, annotator=annotator)
    assert flagged.instance.external_id == "item-3"
    skip_assignment(assignment_id=flagged.pk, annotator=annotator, reason=SkipReason.BROKEN, note="garbled")
    skipped = claim_next_assignment(campaign=campaign, annotator=second_annotator)
    assert skipped.instance.external_id == "item-3"
    skip_assignment(assignment_id=skipped.pk, annotator=second_annotator, reason=SkipReason.CANNOT_JUDGE)
    skipped = claim_next_assignment(campaign=campaign, annotator=annotator)
    assert skipped.instance.external_id == "item-4"
    skip_assignment(assignment_id=skipped.pk, annotator=annotator, reason=SkipReason.CANNOT_JUDGE)
    assert claim_next_assignment(campaign=campaign, annotator=second_annotator).instance.external_id == "item-4"
    InstanceFeatures.objects.create(instance=item["item-5"], version="v1", values={}, tags=["code", "long"])
    import_instances(campaign=campaign, data=hh_row("Hi?", "Hello.", "Go away."), file_format="hh-rlhf")
    return campaign


def shown(client, campaign, query: str = "") -> list[str]:
    response = client.get(reverse("campaign_data", args=[campaign.slug]) + query)
    assert response.status_code == 200, response.content.decode()[:500]
    return [instance.external_id for instance in response.context["page"]]


def hh(ids):
    return ["hh" if i.startswith("hh-") else i for i in ids]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["item-0", "item-1", "item-2", "item-3", "item-4", "item-5", "hh"]),
        ("?status=done", ["item-0", "item-1", "item-2"]),
        ("?status=in_progress", ["item-4", "hh"]),
        ("?status=unlabelled", ["item-3", "item-5"]),
        ("?route=llm", ["item-2"]),
        ("?route=human", ["item-5"]),
        ("?source=human", ["item-0", "item-1"]),
        ("?source=imported", ["hh"]),
        ("?source=llm", ["item-2"]),
        ("?agreement=unanimous", ["item-0"]),
        ("?agreement=split", ["item-1"]),
        ("?tag=code", ["item-5"]),
        ("?tag=nope", []),
        ("?flagged=on", ["item-3"]),
        ("?skipped=on", ["item-3", "item-4"]),
        ("?status=done&source=human", ["item-0", "item-1"]),
        ("?status=done&agreement=split&source=human", ["item-1"]),
        ("?skipped=on&status=unlabelled", ["item-3"]),
    ],
)
def test_each_filter_narrows_to_the_instances_it_names(browsed, pm, query, expected):
    assert hh(shown(logged_in(pm), browsed, query)) == expected


def test_an_unknown_filter_value_is_a_specific_error(browsed, pm):
    response = logged_in(pm).get(reverse("campaign_data", args=[browsed.slug]) + "?status=finished")
    assert response.status_code == 400
    assert "Select a valid choice. finished is not one of the available choices." in response.content.decode()


def test_pages_keep_the_filters_in_their_links(pm):
    campaign = build_campaign(pm=pm, n_instances=60)
    client = logged_in(pm)
    response = client.get(reverse("campaign_data", args=[campaign.slug]) + "?status=unlabelled")
    assert len(response.context["page"]) == 50 and response.context["page"].paginator.count == 60
    assert 'href="?status=unlabelled&amp;page=2"' in response.content.decode()
    assert len(shown(client, campaign, "?status=unlabelled&page=2")) == 10


def test_data_page_costs_the_same_queries_however_many_instances(pm, annotator):
    small = build_campaign(pm=pm, annotators=[annotator], n_instances=3, name="Small")
    large = build_campaign(pm=pm, annotators=[annotator], n_instances=40, name="Large")
    for campaign in (small, large):
        label(campaign, annotator, -1)
    client = logged_in(pm)
    counts = []
    for campaign in (small, large):
        with CaptureQueriesContext(connection) as queries:
            shown(client, campaign, "?source=human&tag=code&flagged=on&agreement=split")
            shown(client, campaign)
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 14


def test_instance_page_shows_human_imported_and_llm_labels_side_by_side_escaped(pm, annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=0)
    import_instances(
        campaign=campaign,
        data=hh_row("<script>alert('prompt')</script>", "<script>alert('chosen')</script>", "Plain."),
        file_format="hh-rlhf",
    )
    instance = Instance.objects.get(campaign=campaign)
    assert label(campaign, annotator, -1) == instance.external_id
    llm_label(campaign, instance, 2, model="judge-x", prompt_version="p3", confidence=0.75)
    response = logged_in(pm).get(reverse("campaign_instance", args=[campaign.slug, instance.pk]))
    page = response.content.decode()
    assert "<script>alert" not in page and "&lt;script&gt;alert(" in page
    sources = [a.source for a in response.context["instance"].annotations]
    assert sorted(sources) == ["human", "imported", "llm"]
    assert pseudonym_of(campaign_id=campaign.pk, user_id=annotator.pk) in page
    assert "annotator1" not in page
    assert "judge-x" in page and "prompt p3" in page and "0.75" in page
    assert "hh-rlhf-crowdworker" in page and "v1" in page
    final = response.context["label"]
    assert (final.provenance, final.winner, final.n_human, final.n_imported, final.n_llm) == (
        "single_human", "A", 1, 1, 1
    )
    assert "single_human" in page


def test_instance_of_another_campaign_is_not_found(pm):
    mine = build_campaign(pm=pm, n_instances=1, name="Mine")
    theirs = build_campaign(pm=pm, n_instances=1, name="Theirs")
    other_instance = Instance.objects.get(campaign=theirs)
    response = logged_in(pm).get(reverse("campaign_instance", args=[mine.slug, other_instance.pk]))
    assert response.status_code == 404


def test_instance_page_shows_the_pm_adjudication_as_the_final_label_and_keeps_the_votes(pm, annotator, second_annotator):
    from annotate.models import Annotation
    from annotate.services.adjudication import adjudicate_instance

    campaign = build_campaign(pm=pm, annotators=[annotator, second_annotator], n_instances=1, overlap=2)
    label(campaign, annotator, -2)
    label(campaign, second_annotator, 2)
    instance = campaign.instances.get()
    page = logged_in(pm).get(reverse("campaign_instance", args=[campaign.slug, instance.pk]))
    assert b"human_split" in page.content

    adjudicate_instance(campaign=campaign, instance=instance, overall_preference=1, note="B cites the source.", decided_by=pm)

    page = logged_in(pm).get(reverse("campaign_instance", args=[campaign.slug, instance.pk]))
    assert b"adjudicated" in page.content
    assert sorted(Annotation.objects.values_list("overall_preference", flat=True)) == [-2, 2]
