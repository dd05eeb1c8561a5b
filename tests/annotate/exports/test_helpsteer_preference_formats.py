"""HelpSteer2-Preference and HelpSteer3 exports: strengths with every annotator's reasons."""

from __future__ import annotations

import pytest

from annotate.selectors import pseudonym_of
from annotate.services.annotations import submit_annotation
from annotate.services.answers import AnswerInput
from annotate.services.assignments import claim_next_assignment
from tests.annotate.exports.helpers import export, load
from tests.conftest import build_campaign, make_user

# Strengths per instance (by row index) from three annotators.
PLAN = {"item-0": (2, 3, 2), "item-1": (-1, 1, 0), "item-2": (-3, 3, 1)}


@pytest.fixture
def strength_campaign(pm, annotator, second_annotator, researcher):
    third = make_user("annotator3")
    people = [annotator, second_annotator, third]
    campaign = build_campaign(
        pm=pm, annotators=people, researchers=[researcher], n_instances=3, template="helpsteer2_preference", overlap=3
    )
    for k, person in enumerate(people):
        for _ in range(3):
            assignment = claim_next_assignment(campaign=campaign, annotator=person)
            strength = PLAN[assignment.instance.external_id][k]
            submit_annotation(
                assignment_id=assignment.pk,
                annotator=person,
                answers=[
                    AnswerInput(question="preference_strength", codes=(str(strength),)),
                    AnswerInput(question="preference_statement", text=f"@B by {strength} (annotator {k})."),
                    AnswerInput(question="preference_elaboration", text=f"Because of @A, {k}."),
                ],
            )
    campaign.people = people
    return campaign


@pytest.mark.parametrize("file_type", ["jsonl", "parquet"])
def test_helpsteer2_preference_keeps_clear_items_and_counts_the_rest(strength_campaign, researcher, tmp_path, file_type):
    job = export(strength_campaign, researcher, "helpsteer2_preference", file_type=file_type)
    rows = list(load(job, tmp_path))

    assert [r["id"] for r in rows] == ["item-0"]
    (row,) = rows
    instance = strength_campaign.instances.get(external_id="item-0")
    assert row["prompt"] == instance.messages[0]["content"]
    assert (row["response_1"], row["response_2"]) == tuple(r.text for r in instance.responses.order_by("position"))
    assert row["preference_strength"] == 2  # mean 7/3
    assert row["split"] == "train"
    assert row["preference_statement"] == "@Response 2 by 2 (annotator 0)."
    assert [p["strength"] for p in row["three_most_similar_preferences"]] == [2, 3, 2]
    assert row["all_preferences_unprocessed"][1] == {
        "strength": 3, "justification": "@Response 2 by 3 (annotator 1).\n\nBecause of @Response 1, 1."
    }
    assert row["provenance"]["annotators"] == [
        pseudonym_of(campaign_id=strength_campaign.pk, user_id=p.pk) for p in strength_campaign.people
    ]
    assert job.result["dropped"] == {"about_the_same": 1, "spread_over_2": 1}


@pytest.mark.parametrize("file_type", ["jsonl", "parquet"])
def test_helpsteer3_preference_has_every_item_with_individual_preferences(strength_campaign, researcher, tmp_path, file_type):
    rows = {r["id"]: r for r in load(export(strength_campaign, researcher, "helpsteer3_preference", file_type=file_type), tmp_path)}

    assert set(rows) == set(PLAN)
    for external_id, strengths in PLAN.items():
        instance = strength_campaign.instances.get(external_id=external_id)
        row = rows[external_id]
        assert row["context"] == [{"role": "user", "content": instance.messages[0]["content"]}]
        assert [p["score"] for p in row["individual_preference"]] == list(strengths)
        assert row["domain"] is None
    assert [rows[i]["overall_preference"] for i in ("item-0", "item-1", "item-2")] == [2, 0, 0]  # 1/3 → 0
    assert rows["item-0"]["individual_preference"][0]["reasoning"] == "@B by 2 (annotator 0).\n\nBecause of @A, 0."
