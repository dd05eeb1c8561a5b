"""The DPO/TRL and KTO exports, loaded by ``datasets``, hold the stored pairs value by value."""

from __future__ import annotations

import pytest

from annotate.selectors import pseudonym_of
from tests.annotate.exports.helpers import export, labelled_campaign, load


def text_of(instance, position):
    return instance.responses.get(position=position).text


def prompt_of(instance):
    return instance.messages[0]["content"]


@pytest.mark.parametrize("file_type", ["jsonl", "parquet"])
def test_conversational_dpo_rows_match_the_stored_pairs(campaign, annotator, researcher, tmp_path, file_type):
    by_human, tied, by_llm = labelled_campaign(campaign, annotator)

    job = export(campaign, researcher, "dpo", file_type=file_type)
    rows = {row["id"]: row for row in load(job, tmp_path)}

    assert set(rows) == {by_human.external_id, *(i.external_id for i in by_llm)}
    human = rows[by_human.external_id]
    assert human["prompt"] == [{"role": "user", "content": prompt_of(by_human)}]
    assert human["chosen"] == [{"role": "assistant", "content": text_of(by_human, 1)}]
    assert human["rejected"] == [{"role": "assistant", "content": text_of(by_human, 0)}]
    assert human["margin"] == 2.0
    assert (human["chosen_model"], human["rejected_model"]) == ("model-b", "model-a")
    provenance = human["provenance"]
    assert provenance["label_source"] == "human"
    assert provenance["aggregation"] == "single_human"
    assert provenance["annotators"] == [pseudonym_of(campaign_id=campaign.pk, user_id=annotator.pk)]
    assert provenance["label_models"] == []
    assert provenance["pools"] == [""]
    assert provenance["guidelines_version"] == campaign.guidelines_version
    for instance in by_llm:
        row = rows[instance.external_id]
        assert row["chosen"][0]["content"] == text_of(instance, 0)
        assert row["margin"] == 1.0
        assert row["provenance"]["label_source"] == "llm"
        assert row["provenance"]["label_models"] == ["local-rm/test@v1"]
        assert row["provenance"]["aggregation"] == "llm"
    assert job.result["rows"] == 3
    assert job.result["dropped"] == {"tie": 1}


@pytest.mark.parametrize("file_type", ["jsonl", "parquet"])
def test_standard_dpo_rows_are_strings(campaign, annotator, researcher, tmp_path, file_type):
    by_human, _, by_llm = labelled_campaign(campaign, annotator)

    dataset = load(export(campaign, researcher, "dpo_standard", file_type=file_type), tmp_path)

    assert dataset.column_names == ["id", "prompt", "chosen", "rejected", "margin", "chosen_model", "rejected_model", "provenance"]
    rows = {row["id"]: row for row in dataset}
    human = rows[by_human.external_id]
    assert (human["prompt"], human["chosen"], human["rejected"]) == (
        prompt_of(by_human), text_of(by_human, 1), text_of(by_human, 0)
    )
    for instance in by_llm:
        row = rows[instance.external_id]
        assert (row["chosen"], row["rejected"]) == (text_of(instance, 0), text_of(instance, 1))


def test_implicit_prompt_dpo_rows_are_whole_conversations(campaign, annotator, researcher, tmp_path):
    by_human, _, _ = labelled_campaign(campaign, annotator)

    dataset = load(export(campaign, researcher, "dpo_implicit", file_type="parquet"), tmp_path)

    assert "prompt" not in dataset.column_names
    human = {row["id"]: row for row in dataset}[by_human.external_id]
    user = {"role": "user", "content": prompt_of(by_human)}
    assert human["chosen"] == [user, {"role": "assistant", "content": text_of(by_human, 1)}]
    assert human["rejected"] == [user, {"role": "assistant", "content": text_of(by_human, 0)}]


def test_margin_is_left_out_on_request(campaign, annotator, researcher, tmp_path):
    labelled_campaign(campaign, annotator)

    dataset = load(export(campaign, researcher, "dpo", include_margin=False), tmp_path)

    assert "margin" not in dataset.column_names


@pytest.mark.parametrize("file_type", ["jsonl", "parquet"])
def test_kto_rows_are_one_desirable_and_one_undesirable_completion_per_pair(
    campaign, annotator, researcher, tmp_path, file_type
):
    by_human, _, by_llm = labelled_campaign(campaign, annotator)

    job = export(campaign, researcher, "kto", file_type=file_type)
    dataset = load(job, tmp_path)

    assert dataset.column_names == ["id", "prompt", "completion", "label", "model", "provenance"]
    rows = [(r["id"], r["prompt"], r["completion"], r["label"], r["model"]) for r in dataset]
    assert (by_human.external_id, prompt_of(by_human), text_of(by_human, 1), True, "model-b") in rows
    assert (by_human.external_id, prompt_of(by_human), text_of(by_human, 0), False, "model-a") in rows
    assert len(rows) == 2 * (1 + len(by_llm)) == job.result["rows"]


def test_trl_reads_the_dpo_and_kto_files_as_its_preference_trainers_do(campaign, annotator, researcher, tmp_path):
    """TRL's own dataset utilities on the exported files: ``is_conversational`` tells the
    conversational forms from the standard ones; ``maybe_extract_prompt`` recovers the explicit
    form's prompt from the implicit-prompt file; ``unpair_preference_dataset`` turns the DPO file
    into exactly the rows of the KTO export."""
    from trl.data_utils import is_conversational, maybe_extract_prompt, unpair_preference_dataset

    labelled_campaign(campaign, annotator)
    conversational = load(export(campaign, researcher, "dpo", file_type="parquet"), tmp_path)
    standard = load(export(campaign, researcher, "dpo_standard"), tmp_path)
    implicit = load(export(campaign, researcher, "dpo_implicit"), tmp_path)
    kto = load(export(campaign, researcher, "kto"), tmp_path)

    assert all(is_conversational(row) for row in conversational)
    assert all(is_conversational(row) for row in implicit)
    assert not any(is_conversational(row) for row in standard)
    assert not any(is_conversational(row) for row in kto)
    assert {"prompt", "chosen", "rejected"} <= set(conversational.column_names) & set(standard.column_names)
    assert {"prompt", "completion", "label"} <= set(kto.column_names)

    explicit = {row["id"]: row for row in conversational}
    for row in implicit:
        extracted = maybe_extract_prompt({"chosen": row["chosen"], "rejected": row["rejected"]})
        assert extracted["prompt"] == explicit[row["id"]]["prompt"]
        assert (extracted["chosen"], extracted["rejected"]) == (explicit[row["id"]]["chosen"], explicit[row["id"]]["rejected"])

    unpaired = unpair_preference_dataset(standard.select_columns(["id", "prompt", "chosen", "rejected"]))
    assert sorted((r["id"], r["prompt"], r["completion"], r["label"]) for r in unpaired) == sorted(
        (r["id"], r["prompt"], r["completion"], r["label"]) for r in kto
    )


@pytest.mark.parametrize("file_type", ["jsonl", "parquet"])
def test_rewardbench_rows_name_both_models_and_the_subset(campaign, annotator, researcher, tmp_path, file_type):
    by_human, _, by_llm = labelled_campaign(campaign, annotator)

    dataset = load(export(campaign, researcher, "rewardbench", file_type=file_type), tmp_path)

    assert dataset.column_names[:7] == ["prompt", "chosen", "chosen_model", "rejected", "rejected_model", "subset", "id"]
    rows = {row["id"]: row for row in dataset}
    human = rows[by_human.external_id]
    assert (human["prompt"], human["chosen"], human["chosen_model"], human["rejected"], human["rejected_model"]) == (
        prompt_of(by_human), text_of(by_human, 1), "model-b", text_of(by_human, 0), "model-a"
    )
    assert {row["subset"] for row in rows.values()} == {campaign.slug}
    assert len(rows) == 1 + len(by_llm)
