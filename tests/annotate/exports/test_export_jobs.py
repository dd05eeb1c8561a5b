"""An export is a JobRun that writes its files and dataset card; options split and filter."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from django.conf import settings

from annotate.models import ExportFile
from annotate.services.exports import ExportRejected, split_of, start_export_job
from tests.annotate.exports.helpers import export, label_by_llm, labelled_campaign, load
from tests.conftest import build_campaign


def test_the_job_result_and_card_count_what_was_written_and_dropped(campaign, annotator, researcher):
    labelled_campaign(campaign, annotator)

    job = export(campaign, researcher, "dpo", license="ODC-BY")

    assert job.result["rows"] == 3
    assert job.result["instances"] == 4
    assert job.result["dropped"] == {"tie": 1}
    assert job.result["label_sources"] == {"human": 1, "llm": 2}
    assert job.progress_done == job.progress_total == 4
    card = ExportFile.objects.get(job=job, name="README.md")
    text = (Path(settings.EXPORT_DIR) / card.path).read_text()
    assert "Rows written: 3" in text
    assert "- tie: 1" in text
    assert "- human: 1" in text and "- llm: 2" in text
    assert "License: ODC-BY" in text
    assert f"v{campaign.guidelines_version}" in text or "none recorded" in text
    assert "Aggregation policy" in text


def test_gzip_jsonl_is_written_compressed(campaign, annotator, researcher, tmp_path):
    labelled_campaign(campaign, annotator)

    job = export(campaign, researcher, "dpo_standard", gzip=True)

    data = ExportFile.objects.exclude(name="README.md").get(job=job)
    assert data.name.endswith(".jsonl.gz")
    with gzip.open(Path(settings.EXPORT_DIR) / data.path, "rt") as handle:
        assert len([json.loads(line) for line in handle]) == 3
    assert len(load(job, tmp_path)) == 3


def test_split_by_prompt_never_puts_one_prompt_in_both(pm, annotator, researcher, tmp_path):
    campaign = build_campaign(pm=pm, annotators=[annotator], researchers=[researcher], n_instances=40)
    label_by_llm(campaign, list(campaign.instances.all()), 1)

    job = export(campaign, researcher, "dpo_standard", split=True, validation_fraction=0.3)
    train, validation = load(job, tmp_path, "train"), load(job, tmp_path, "validation")

    assert len(train) + len(validation) == 40
    assert len(train) and len(validation)
    assert not set(train["prompt"]) & set(validation["prompt"])
    assert job.result["rows_by_split"] == {"train": len(train), "validation": len(validation)}


def test_split_is_decided_by_the_prompt_alone():
    messages = [{"role": "user", "content": "Same prompt"}]
    assert len({split_of(list(messages), validation_fraction=0.5) for _ in range(5)}) == 1


def test_source_filter_keeps_only_those_labels(campaign, annotator, researcher, tmp_path):
    by_human, _, _ = labelled_campaign(campaign, annotator)

    job = export(campaign, researcher, "dpo", sources=["human"])

    assert [row["id"] for row in load(job, tmp_path)] == [by_human.external_id]
    assert job.result["dropped"] == {"tie": 1, "unlabelled": 2}


def test_agreement_threshold_drops_weaker_labels(campaign, annotator, second_annotator, researcher, tmp_path):
    labelled_campaign(campaign, annotator)
    label_by_llm(campaign, list(campaign.instances.all()), 1, model_name="other-llm")  # splits the LLM pairs

    job = export(campaign, researcher, "dpo", min_agreement=0.75)

    assert job.result["rows"] == 1  # the human label (agreement 1.0); the LLM pairs split 1-1
    assert job.result["dropped"]["llm_split"] == 2


def test_date_range_filter(campaign, annotator, researcher):
    labelled_campaign(campaign, annotator)

    job = export(campaign, researcher, "dpo", created_to="2000-01-01T00:00:00+00:00")

    assert job.result["rows"] == 0
    assert job.result["dropped"] == {"unlabelled": 4}


@pytest.mark.parametrize(
    "options",
    [{"file_type": "csv"}, {"file_type": "parquet", "gzip": True}, {"sources": ["robots"]}, {"min_agreement": 2}],
)
def test_bad_options_are_rejected_before_a_job_exists(campaign, researcher, options):
    with pytest.raises(ExportRejected):
        start_export_job(campaign=campaign, created_by=researcher, format_name="dpo", options=options)
    assert not campaign.jobs.exists()


def test_a_rerun_writes_the_same_files_once(campaign, annotator, researcher):
    from annotate.models import JobRun
    from annotate.services.exports import run_export_job

    labelled_campaign(campaign, annotator)
    job = export(campaign, researcher, "dpo")
    JobRun.objects.filter(pk=job.pk).update(status="queued")

    run_export_job(job_id=job.pk)

    assert ExportFile.objects.filter(job=job).count() == 2


@pytest.mark.worker
def test_a_real_worker_runs_the_export_started_from_the_page(celery_worker_all_queues, settings, tmp_path):
    from django.urls import reverse

    from tests.conftest import HTMX, logged_in, make_user
    from tests.test_end_to_end import wait_for_job

    settings.EXPORT_DIR = tmp_path / "exports"
    pm, annotator, researcher = make_user("pm"), make_user("ann"), make_user("res")
    campaign = build_campaign(pm=pm, annotators=[annotator], researchers=[researcher], n_instances=4)
    labelled_campaign(campaign, annotator)

    logged_in(researcher).post(
        reverse("campaign_exports", args=[campaign.slug]), {"format": "kto", "file_type": "parquet", "validation_fraction": "0.1"}, **HTMX
    )
    job = wait_for_job(campaign.jobs.get(kind="export").pk, timeout=60)

    assert job.status == "succeeded", job.error
    assert len(load(job, tmp_path)) == job.result["rows"] == 6
