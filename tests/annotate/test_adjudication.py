"""Adjudication: the PM's final label is recorded beside the annotators' labels, never over
them; every export row carries it as ``adjudicated``; only the campaign's PMs reach the page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from annotate.models import Adjudication, Annotation, ExportFile, QueueItemKind
from annotate.selectors import list_disagreements
from annotate.services.adjudication import AdjudicationError, adjudicate_instance
from annotate.services.quality import ExpectedAnswer, mark_check_item
from tests.annotate.exports.helpers import data_files, export, label_by_human, label_by_llm
from tests.conftest import build_campaign, logged_in, make_user


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    settings.EXPORT_DIR = tmp_path / "exports"


@pytest.fixture
def campaign(pm, annotator, second_annotator, researcher):
    return build_campaign(
        pm=pm, annotators=[annotator, second_annotator], researchers=[researcher], n_instances=4, overlap=2
    )


@pytest.fixture
def split_instance(campaign, annotator, second_annotator):
    """The first instance: annotator 1 prefers A clearly, annotator 2 B clearly (a 1–1 split)."""
    instance = label_by_human(campaign, annotator, -2)
    assert label_by_human(campaign, second_annotator, 2) == instance
    return instance


def labels_of(instance):
    return list(Annotation.objects.filter(instance=instance).order_by("pk").values_list("pk", "overall_preference", "revision"))


def test_adjudication_leaves_every_annotator_label_as_it_was(campaign, pm, split_instance):
    before = labels_of(split_instance)
    adjudicate_instance(campaign=campaign, instance=split_instance, overall_preference=-1, note="A is right", decided_by=pm)
    assert labels_of(split_instance) == before


def test_a_new_decision_becomes_current_and_the_old_one_is_kept(campaign, pm, split_instance):
    first = adjudicate_instance(campaign=campaign, instance=split_instance, overall_preference=-1, note="A", decided_by=pm)
    second = adjudicate_instance(campaign=campaign, instance=split_instance, overall_preference=2, note="B after all", decided_by=pm)
    first.refresh_from_db()
    assert (first.is_current, second.is_current) == (False, True)
    assert Adjudication.objects.filter(instance=split_instance).count() == 2


@pytest.mark.parametrize(
    ("preference", "note", "message"),
    [(3, "off the scale", "between -2 and 2"), (1, "   ", "note")],
)
def test_bad_decisions_are_refused_and_write_nothing(campaign, pm, split_instance, preference, note, message):
    with pytest.raises(AdjudicationError, match=message):
        adjudicate_instance(campaign=campaign, instance=split_instance, overall_preference=preference, note=note, decided_by=pm)
    assert not Adjudication.objects.exists()


def test_an_instance_of_another_campaign_is_refused(campaign, pm, split_instance):
    other = build_campaign(pm=pm, name="Other", n_instances=1)
    with pytest.raises(AdjudicationError, match="not in this campaign"):
        adjudicate_instance(campaign=other, instance=split_instance, overall_preference=1, note="x", decided_by=pm)


CHECK_KINDS = [QueueItemKind.GOLD, QueueItemKind.ATTENTION, QueueItemKind.QUALIFICATION]


@pytest.fixture
def split_check_item(campaign, annotator, second_annotator, split_instance, request):
    """The second instance, split as wide as the first, then made a check item of the kind
    the test is parametrized with (its expected answer: A clearly better)."""
    instance = label_by_human(campaign, annotator, -2)
    assert label_by_human(campaign, second_annotator, 2) == instance
    mark_check_item(
        campaign=campaign, instance=instance, kind=request.param,
        expected=[ExpectedAnswer(question="overall", code="A-is-clearly-better", tolerance=0)],
    )
    return instance


@pytest.mark.parametrize("split_check_item", CHECK_KINDS, indirect=True)
def test_check_items_are_not_listed_for_adjudication_and_regular_ones_are(campaign, split_instance, split_check_item):
    """Gold and attention items have a known answer and qualification items are labelled by
    candidates: how annotators answer them is a quality signal (the quality page), not a
    label to adjudicate."""
    assert [row.instance_id for row in list_disagreements(campaign=campaign)] == [split_instance.pk]


@pytest.mark.parametrize("split_check_item", CHECK_KINDS, indirect=True)
def test_a_check_item_cannot_be_adjudicated(campaign, pm, split_check_item):
    with pytest.raises(AdjudicationError, match="check item"):
        adjudicate_instance(campaign=campaign, instance=split_check_item, overall_preference=2, note="x", decided_by=pm)
    assert not Adjudication.objects.exists()


@pytest.mark.parametrize("policy", ["strict_majority", "multipref_majority", "helpsteer2_preference", "dawid_skene"])
def test_the_export_row_shows_adjudicated(campaign, pm, researcher, split_instance, policy):
    campaign.aggregation_policy = policy
    campaign.save(update_fields=["aggregation_policy"])
    adjudicate_instance(campaign=campaign, instance=split_instance, overall_preference=-2, note="A is right", decided_by=pm)

    raw = export(campaign, researcher, "raw")
    rows = [json.loads(line) for path in data_files(raw) for line in Path(path).read_text().splitlines()]
    mine = [r for r in rows if r["id"] == split_instance.external_id]
    assert sorted(r["overall_preference"] for r in mine) == [-2, 2]  # both annotators' labels, unchanged
    assert {(r["aggregation"], r["instance_label"]) for r in mine} == {("adjudicated", "A")}

    dpo = export(campaign, researcher, "dpo_standard")
    (pair,) = [json.loads(line) for path in data_files(dpo) for line in Path(path).read_text().splitlines()]
    assert pair["chosen"].startswith("Answer A")
    card = ExportFile.objects.get(job=dpo, name="README.md")
    text = (Path(settings.EXPORT_DIR) / card.path).read_text()
    assert f"This campaign's policy: `{policy}`" in text
    assert "- adjudicated: 1" in text


def test_a_split_without_adjudication_is_left_out_of_pairs(campaign, researcher, split_instance):
    dpo = export(campaign, researcher, "dpo_standard")
    assert dpo.result["dropped"] == {"human_split": 1, "unlabelled": 3}


# --- the page ------------------------------------------------------------------------------------


def test_the_pm_sees_the_split_and_sets_the_final_label(campaign, pm, split_instance):
    client = logged_in(pm)
    url = reverse("campaign_adjudication", args=[campaign.slug])
    page = client.get(url)
    assert page.status_code == 200
    assert split_instance.external_id in page.content.decode()
    assert "human_split" in page.content.decode()

    response = client.post(url, {"instance": split_instance.pk, "overall_preference": "1", "note": "B <b>cites</b>"})
    assert response.status_code == 302
    decision = Adjudication.objects.get(instance=split_instance, is_current=True)
    assert (decision.overall_preference, decision.decided_by, decision.note) == (1, pm, "B <b>cites</b>")
    after = client.get(url).content.decode()
    assert "adjudicated" in after
    assert "B &lt;b&gt;cites&lt;/b&gt;" in after  # the note is escaped


@pytest.mark.parametrize("split_check_item", [QueueItemKind.GOLD], indirect=True)
def test_the_page_lists_the_regular_split_and_not_the_gold_one(campaign, pm, split_instance, split_check_item):
    client = logged_in(pm)
    url = reverse("campaign_adjudication", args=[campaign.slug])
    page = client.get(url).content.decode()
    assert split_instance.external_id in page and split_check_item.external_id not in page
    response = client.post(url, {"instance": split_check_item.pk, "overall_preference": "1", "note": "x"})
    assert response.status_code == 400 and "check item" in response.content.decode()
    assert not Adjudication.objects.exists()


def test_the_page_lists_a_human_majority_an_llm_disagrees_with(campaign, annotator, pm):
    instance = label_by_human(campaign, annotator, 2)
    label_by_llm(campaign, [instance], -1)
    page = logged_in(pm).get(reverse("campaign_adjudication", args=[campaign.slug])).content.decode()
    assert "human_vs_llm" in page and instance.external_id in page


@pytest.mark.parametrize(
    ("post", "message"),
    [({"overall_preference": "", "note": "x"}, "Choose the final preference"), ({"overall_preference": "1", "note": ""}, "note")],
)
def test_a_bad_post_says_why_and_records_nothing(campaign, pm, split_instance, post, message):
    response = logged_in(pm).post(
        reverse("campaign_adjudication", args=[campaign.slug]), {"instance": split_instance.pk, **post}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Adjudication.objects.exists()


def test_an_instance_of_another_campaign_is_not_found(campaign, pm, split_instance):
    other = build_campaign(pm=pm, name="Other", n_instances=1)
    response = logged_in(pm).post(
        reverse("campaign_adjudication", args=[other.slug]), {"instance": split_instance.pk, "overall_preference": "1", "note": "x"}
    )
    assert response.status_code == 404
    assert not Adjudication.objects.exists()


@pytest.mark.parametrize("who", ["other_pm", "annotator", "researcher", "outsider"])
def test_only_the_campaigns_pms_reach_the_page(campaign, annotator, researcher, outsider, split_instance, who):
    other_pm = make_user("other-pm")
    build_campaign(pm=other_pm, name="Theirs", n_instances=0)
    user = {"other_pm": other_pm, "annotator": annotator, "researcher": researcher, "outsider": outsider}[who]
    url = reverse("campaign_adjudication", args=[campaign.slug])
    client = logged_in(user)
    assert client.get(url).status_code in (403, 404)
    post = client.post(url, {"instance": split_instance.pk, "overall_preference": "1", "note": "x"})
    assert post.status_code in (403, 404)
    assert not Adjudication.objects.exists()


def test_anonymous_is_sent_to_log_in(campaign):
    from django.test import Client

    response = Client().get(reverse("campaign_adjudication", args=[campaign.slug]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_site_admin_passes(campaign, split_instance):
    admin = make_user("admin", is_superuser=True, is_staff=True)
    assert logged_in(admin).get(reverse("campaign_adjudication", args=[campaign.slug])).status_code == 200
