"""Labels a dataset carries (MultiPref workers, HelpSteer2's released ratings, hh-rlhf's choice)
are imported as annotations with source ``imported``, checked like any label, never dropped."""

from __future__ import annotations

import json

import pytest

from annotate.models import Annotation
from annotate.services.imports import ImportRejected, import_instances
from tests.conftest import build_campaign, stored_answers

ROW = {
    "comparison_id": "cmp-1",
    "text": "How do I boil an egg?",
    "model_a": "m-a",
    "completion_a": "Nine minutes.",
    "model_b": "m-b",
    "completion_b": "Microwave it.",
    "normal_worker_annotations": [
        {
            "evaluator": "w-17",
            "overall_pref": "A-is-slightly-better",
            "overall_confidence": "fairly-confident",
            "helpful_pref": "A-is-clearly-better",
            "helpful_checked_reasons": ["correct", "concise"],
            "truthful_pref": "Tie",
            "harmless_pref": "A-is-clearly-better",
            "harmless_confidence": "absolutely-confident",
            "harmless_checked_reasons": ["not dangerous"],
            "overall_own_reason": "B is unsafe.",
            "harmless_own_reason": "B tells you to microwave an egg.",
            "time_spent": 95,
            "timestamp": "2024-05-01T10:00:00",
        }
    ],
    "expert_worker_annotations": [{"evaluator": "x-3", "overall_pref": "B-is-clearly-better"}],
}


def jsonl(*rows) -> bytes:
    return "\n".join(json.dumps(r) for r in rows).encode()


def test_multipref_worker_annotations_become_imported_labels_with_every_answer(pm):
    campaign = build_campaign(pm=pm, n_instances=0, template="multipref")
    summary = import_instances(campaign=campaign, data=jsonl(ROW), file_format="multipref")
    assert summary.labels_imported == 2 and summary.answers_not_in_task == {}
    normal = Annotation.objects.get(external_annotator="w-17")
    assert (normal.source, normal.pool, normal.time_spent_seconds) == ("imported", "normal", 95.0)
    assert normal.overall_preference == -1 and normal.annotator_id is None
    assert stored_answers(normal) == {
        ("overall", None): -1,
        ("overall_confidence", None): 2,
        ("helpfulness", None): -2,
        ("helpfulness_checked_reasons", None): ["concise", "correct"],
        ("truthfulness", None): 0,
        ("harmlessness", None): -2,
        ("harmlessness_confidence", None): 3,
        ("harmlessness_checked_reasons", None): ["not-dangerous"],
        ("overall_own_reason", None): "B is unsafe.",
        ("harmlessness_own_reason", None): "B tells you to microwave an egg.",
    }
    assert normal.raw_output == ROW["normal_worker_annotations"][0]  # the record, whole
    expert = Annotation.objects.get(external_annotator="x-3")
    assert (expert.pool, expert.overall_preference) == ("expert", 2)


def test_answers_the_task_does_not_ask_are_counted_and_kept_in_the_record(pm):
    campaign = build_campaign(pm=pm, n_instances=0)  # simple pairwise: no confidence, no reasons
    summary = import_instances(campaign=campaign, data=jsonl(ROW), file_format="multipref")
    assert summary.answers_not_in_task == {
        "overall_confidence": 1,
        "helpfulness_checked_reasons": 1,
        "harmlessness_confidence": 1,
        "harmlessness_checked_reasons": 1,
        "overall_own_reason": 1,
        "harmlessness_own_reason": 1,
    }
    normal = Annotation.objects.get(external_annotator="w-17")
    assert stored_answers(normal) == {
        ("overall", None): -1, ("helpfulness", None): -2, ("truthfulness", None): 0, ("harmlessness", None): -2,
    }
    assert normal.raw_output["overall_confidence"] == "fairly-confident"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (
            {"overall_pref": "A-is-way-better"},
            'line 1, field "normal_worker_annotations[0].overall_pref": "A-is-way-better" is not one of '
            "A-is-clearly-better, A-is-slightly-better, Tie, B-is-slightly-better, B-is-clearly-better",
        ),
        ({"evaluator": ""}, 'line 1, field "normal_worker_annotations[0].evaluator": must be a non-empty string'),
        ({"time_spent": "long"}, 'line 1, field "normal_worker_annotations[0].time_spent": must be a number of seconds'),
    ],
)
def test_a_bad_imported_label_is_a_row_error_and_nothing_is_imported(pm, change, error):
    campaign = build_campaign(pm=pm, n_instances=0, template="multipref")
    row = json.loads(json.dumps(ROW))
    row["normal_worker_annotations"][0].update(change)
    with pytest.raises(ImportRejected) as rejected:
        import_instances(campaign=campaign, data=jsonl(row), file_format="multipref")
    assert error in [str(e) for e in rejected.value.errors]
    assert not campaign.instances.exists() and not Annotation.objects.exists()


def test_the_same_evaluator_twice_on_a_row_is_refused(pm):
    campaign = build_campaign(pm=pm, n_instances=0, template="multipref")
    row = dict(ROW, normal_worker_annotations=ROW["normal_worker_annotations"] * 2)
    with pytest.raises(ImportRejected) as rejected:
        import_instances(campaign=campaign, data=jsonl(row), file_format="multipref")
    assert 'already annotated this row' in str(rejected.value.errors[0])


def test_hh_rlhf_choice_is_the_mildest_preference_for_the_chosen_response(pm):
    pairwise = build_campaign(pm=pm, n_instances=0)
    strength = build_campaign(pm=pm, n_instances=0, name="hs2p", template="helpsteer2_preference")
    row = {
        "chosen": "\n\nHuman: Hi?\n\nAssistant: Hello! How can I help?",
        "rejected": "\n\nHuman: Hi?\n\nAssistant: Go away.",
    }
    for campaign in (pairwise, strength):
        import_instances(campaign=campaign, data=jsonl(row), file_format="hh-rlhf")
        instance = campaign.instances.get()
        chosen_position = 0 if instance.metadata["source_preference"] == "A" else 1
        label = instance.annotations.get()
        assert label.source == "imported" and label.external_annotator == "hh-rlhf-crowdworker"
        assert label.overall_preference == (-1 if chosen_position == 0 else 1)


def test_the_upload_page_says_how_many_labels_came_with_the_file_and_what_was_kept_aside(pm):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from tests.conftest import logged_in

    campaign = build_campaign(pm=pm, n_instances=0)
    response = logged_in(pm).post(
        reverse("import_instances", args=[campaign.slug]),
        {"file": SimpleUploadedFile("mp.jsonl", jsonl(ROW)), "file_format": "multipref"},
        follow=True,
    )
    body = response.content.decode()
    assert "Imported 1 instance with 2 labels from the file." in body
    assert "overall_confidence (1)" in body
