"""MultiPref raw and binarised exports: imported worker annotations come back field by field."""

from __future__ import annotations

import json

import pytest

from annotate.selectors import pseudonym_of
from annotate.services.imports import import_instances
from tests.annotate.exports.helpers import export, load
from tests.annotate.test_imported_labels import ROW
from tests.conftest import build_campaign


def comparison(cid, prefs_normal, prefs_expert):
    return dict(
        ROW,
        comparison_id=cid,
        text=f"Prompt of {cid}",
        normal_worker_annotations=[{"evaluator": f"n{i}", "overall_pref": p} for i, p in enumerate(prefs_normal)],
        expert_worker_annotations=[{"evaluator": f"x{i}", "overall_pref": p} for i, p in enumerate(prefs_expert)],
    )


@pytest.fixture
def multipref_campaign(pm, researcher):
    campaign = build_campaign(pm=pm, researchers=[researcher], n_instances=0, template="multipref")
    rows = [
        dict(ROW, source="anthropic/helpful-base", category="Open QA", prompt_id="p-1"),  # 1 normal A, 1 expert B
        comparison("cmp-won", ["B-is-slightly-better", "B-is-clearly-better"], ["B-is-slightly-better", "A-is-clearly-better"]),
        comparison("cmp-split", ["A-is-slightly-better", "A-is-clearly-better"], ["B-is-slightly-better", "B-is-clearly-better"]),
        comparison("cmp-tie", ["Tie", "Tie"], ["Tie", "A-is-slightly-better"]),
    ]
    import_instances(campaign=campaign, data="\n".join(json.dumps(r) for r in rows).encode(), file_format="multipref")
    return campaign


@pytest.mark.parametrize("file_type", ["jsonl", "parquet"])
def test_raw_multipref_rows_give_back_the_imported_annotations(multipref_campaign, researcher, tmp_path, file_type):
    job = export(multipref_campaign, researcher, "multipref", file_type=file_type)
    rows = {row["comparison_id"]: row for row in load(job, tmp_path)}

    assert set(rows) == {"cmp-1", "cmp-won", "cmp-split", "cmp-tie"}
    row = rows["cmp-1"]
    for column in ("text", "model_a", "completion_a", "model_b", "completion_b", "source", "category", "prompt_id"):
        assert row[column] == (ROW | {"source": "anthropic/helpful-base", "category": "Open QA", "prompt_id": "p-1"})[column]
    (normal,) = row["normal_worker_annotations"]
    source = ROW["normal_worker_annotations"][0]
    for field, value in source.items():
        if field != "timestamp":
            assert normal[field] == value, field
    assert normal["truthful_confidence"] is None and normal["truthful_checked_reasons"] == []
    assert normal["label_source"] == "imported"
    (expert,) = row["expert_worker_annotations"]
    assert (expert["evaluator"], expert["overall_pref"]) == ("x-3", "B-is-clearly-better")
    assert row["provenance"]["aggregation"] == "imported_split"
    assert sorted(row["provenance"]["pools"]) == ["expert", "normal"]
    assert [a["overall_pref"] for a in rows["cmp-won"]["expert_worker_annotations"]] == [
        "B-is-slightly-better", "A-is-clearly-better"
    ]


def test_binarised_multipref_merges_slightly_into_clearly_and_drops_ties_and_splits(
    multipref_campaign, researcher, tmp_path
):
    job = export(multipref_campaign, researcher, "multipref_binarized", file_type="parquet")
    rows = list(load(job, tmp_path))

    assert [r["comparison_id"] for r in rows] == ["cmp-won"]  # 3 of 4 prefer B
    (won,) = rows
    assert (won["chosen"], won["rejected"]) == (ROW["completion_b"], ROW["completion_a"])
    assert (won["chosen_model"], won["rejected_model"]) == ("m-b", "m-a")
    assert won["provenance"]["aggregation"] == "imported_majority"
    assert won["provenance"]["agreement"] == 0.75
    assert job.result["dropped"] == {"imported_split": 2, "tie": 1}


def test_platform_annotators_are_in_the_normal_list_under_their_pseudonym(pm, annotator, researcher, tmp_path):
    campaign = build_campaign(pm=pm, annotators=[annotator], researchers=[researcher], n_instances=1, template="multipref")
    from annotate.services.annotations import submit_annotation
    from annotate.services.answers import AnswerInput
    from annotate.services.assignments import claim_next_assignment

    assignment = claim_next_assignment(campaign=campaign, annotator=annotator)
    submit_annotation(
        assignment_id=assignment.pk,
        annotator=annotator,
        answers=[
            AnswerInput(question=q, codes=("A-is-slightly-better",))
            for q in ("overall", "helpfulness", "truthfulness", "harmlessness")
        ]
        + [AnswerInput(question="overall_confidence", codes=("absolutely-confident",))],
    )

    (row,) = load(export(campaign, researcher, "multipref"), tmp_path)

    (mine,) = row["normal_worker_annotations"]
    assert mine["evaluator"] == pseudonym_of(campaign_id=campaign.pk, user_id=annotator.pk)
    assert (mine["overall_pref"], mine["overall_confidence"], mine["label_source"]) == (
        "A-is-slightly-better", "absolutely-confident", "human"
    )
    assert row["expert_worker_annotations"] == []
