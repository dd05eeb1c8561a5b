"""The raw export has every label (human, imported, LLM) with every answer, as stored."""

from __future__ import annotations

import pytest

from annotate.models import Annotation
from annotate.selectors import pseudonym_of
from tests.annotate.exports.helpers import export, labelled_campaign, load


def answer_rows(annotation):
    return [
        {
            "question": v.question.key,
            "response_position": v.response_position,
            "option": v.option.code if v.option_id else None,
            "value": v.value,
            "text": v.text,
        }
        for v in annotation.answers.select_related("question", "option").order_by(
            "question__order", "response_position", "id"
        )
    ]


@pytest.mark.parametrize("file_type", ["jsonl", "parquet"])
def test_every_label_is_a_row_with_its_answers_and_provenance(campaign, annotator, researcher, tmp_path, file_type):
    labelled_campaign(campaign, annotator)

    job = export(campaign, researcher, "raw", file_type=file_type)
    rows = {row["annotation_id"]: row for row in load(job, tmp_path)}

    stored = list(Annotation.objects.filter(campaign=campaign).select_related("instance", "guidelines"))
    assert set(rows) == {a.pk for a in stored} and len(rows) == 4
    for annotation in stored:
        row = rows[annotation.pk]
        assert row["id"] == annotation.instance.external_id
        assert row["label_source"] == annotation.source
        assert row["overall_preference"] == annotation.overall_preference
        assert row["answers"] == answer_rows(annotation)
        assert row["guidelines_version"] == (annotation.guidelines.version if annotation.guidelines_id else None)
        assert row["created_at"] == annotation.created_at.isoformat()
        if annotation.source == "human":
            assert row["annotator"] == pseudonym_of(campaign_id=campaign.pk, user_id=annotator.pk)
            assert row["aggregation"] == "single_human"
        else:
            assert (row["annotator"], row["model_name"], row["prompt_version"]) == ("local-rm/test@v1", "local-rm/test", "v1")
            assert row["aggregation"] == "llm"
    human_texts = [a["text"] for r in rows.values() if r["label_source"] == "human" for a in r["answers"] if a["text"]]
    assert human_texts == ["because", "because"]
    assert job.result["dropped"] == {}


def test_the_raw_export_keeps_ties(campaign, annotator, researcher, tmp_path):
    _, tied, _ = labelled_campaign(campaign, annotator)

    rows = load(export(campaign, researcher, "raw"), tmp_path)

    tie_row = next(r for r in rows if r["id"] == tied.external_id)
    assert tie_row["instance_label"] == "tie" and tie_row["overall_preference"] == 0
