"""The DPO/TRL export says, per row, where its label came from."""

from __future__ import annotations

import json

from django.test import Client
from django.urls import reverse

from annotate.judgements import PairwiseJudgement
from annotate.selectors import pseudonym_of
from annotate.services.annotations import (
    LLMPairwiseLabel,
    record_llm_annotations,
    submit_annotation,
)
from annotate.services.assignments import claim_next_assignment
from annotate.services.campaigns import save_guidelines
from tests.conftest import build_campaign, pairwise_answers


def label_by_human(campaign, person, preference):
    assignment = claim_next_assignment(campaign=campaign, annotator=person)
    submit_annotation(
        assignment_id=assignment.pk,
        annotator=person,
        answers=pairwise_answers(preference, justification="because"),
    )
    return assignment.instance


def label_by_llm(campaign, instance, preference, model_name="local-rm/test"):
    record_llm_annotations(
        campaign=campaign,
        labels=[
            LLMPairwiseLabel(
                instance_id=instance.pk,
                model_name=model_name,
                prompt_version="v1",
                judgement=PairwiseJudgement(overall_preference=preference),
                raw_output={},
            )
        ],
    )


def publish_guidelines_version(campaign, version: int) -> None:
    assert save_guidelines(campaign=campaign, markdown=f"Guidelines {version}").version == version


def download(campaign, researcher) -> list[dict]:
    client = Client()
    client.force_login(researcher)
    response = client.get(reverse("download_export", args=[campaign.slug, "dpo"]))
    assert response.status_code == 200
    assert 'filename="' in response["Content-Disposition"]
    return [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]


def test_export_has_human_and_llm_rows_with_provenance_and_drops_ties(campaign, annotator, researcher):
    by_human = label_by_human(campaign, annotator, 2)  # B clearly better
    tied = label_by_human(campaign, annotator, 0)
    rest = list(campaign.instances.exclude(pk__in=[by_human.pk, tied.pk]))
    record_llm_annotations(
        campaign=campaign,
        labels=[
            LLMPairwiseLabel(
                instance_id=instance.pk,
                model_name="local-rm/test",
                prompt_version="v1",
                judgement=PairwiseJudgement(overall_preference=-1, confidence=0.4),
                raw_output={"prob_a": 0.7},
            )
            for instance in rest + [by_human]
        ],
    )

    rows = {row["id"]: row for row in download(campaign, researcher)}

    assert tied.external_id not in rows
    human_row = rows[by_human.external_id]
    b_text = by_human.responses.get(position=1).text
    assert human_row["chosen"] == [{"role": "assistant", "content": b_text}]
    assert human_row["provenance"]["label_source"] == "human"
    assert human_row["provenance"]["aggregation"] == "single_human"
    assert human_row["provenance"]["annotators"] == [pseudonym_of(campaign_id=campaign.pk, user_id=annotator.pk)]
    assert human_row["provenance"]["n_llm_labels"] == 1  # outvoted by the human
    for instance in rest:
        row = rows[instance.external_id]
        assert row["provenance"]["label_source"] == "llm"
        assert row["provenance"]["annotators"] == ["local-rm/test@v1"]
        assert row["chosen"][0]["content"] == instance.responses.get(position=0).text
        assert row["prompt"] == instance.messages
        assert row["chosen_model"] == "model-a" and row["rejected_model"] == "model-b"
    assert len(rows) == 3


def test_recording_the_same_llm_labels_twice_writes_them_once(campaign):
    instance = campaign.instances.first()
    label = LLMPairwiseLabel(
        instance_id=instance.pk,
        model_name="local-rm/test",
        prompt_version="v1",
        judgement=PairwiseJudgement(overall_preference=1),
        raw_output={},
    )
    assert record_llm_annotations(campaign=campaign, labels=[label]) == 1
    assert record_llm_annotations(campaign=campaign, labels=[label]) == 0
    assert instance.annotations.count() == 1


def test_each_row_names_the_guidelines_versions_its_deciding_labels_were_made_under(
    pm, annotator, second_annotator, researcher
):
    campaign = build_campaign(
        pm=pm,
        annotators=[annotator, second_annotator],
        researchers=[researcher],
        n_instances=2,
        overlap=2,
    )
    both_versions = label_by_human(campaign, annotator, 2)  # under version 1
    llm_only = campaign.instances.exclude(pk=both_versions.pk).get()
    label_by_llm(campaign, llm_only, -1)  # under version 1
    publish_guidelines_version(campaign, 2)
    assert label_by_human(campaign, second_annotator, 1) == both_versions  # under version 2
    publish_guidelines_version(campaign, 3)
    label_by_llm(campaign, both_versions, -2)  # outvoted by the humans: not a deciding label

    rows = {row["id"]: row["provenance"] for row in download(campaign, researcher)}

    mixed = rows[both_versions.external_id]
    assert mixed["guidelines_versions"] == [1, 2]
    assert mixed["guidelines_version"] is None  # no single version to name
    single = rows[llm_only.external_id]
    assert single["guidelines_versions"] == [1]
    assert single["guidelines_version"] == 1  # not the campaign's current version 3
