"""Labelled campaigns set up through the real services, and export jobs run inline."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from annotate.judgements import PairwiseJudgement
from annotate.models import ExportFile, JobRun
from annotate.services.annotations import (
    LLMPairwiseLabel,
    record_llm_annotations,
    submit_annotation,
)
from annotate.services.assignments import claim_next_assignment
from annotate.services.exports import run_export_job, start_export_job
from tests.conftest import pairwise_answers


def label_by_human(campaign, person, preference):
    assignment = claim_next_assignment(campaign=campaign, annotator=person)
    submit_annotation(
        assignment_id=assignment.pk, annotator=person, answers=pairwise_answers(preference, justification="because")
    )
    return assignment.instance


def label_by_llm(campaign, instances, preference, model_name="local-rm/test", prompt_version="v1"):
    record_llm_annotations(
        campaign=campaign,
        labels=[
            LLMPairwiseLabel(
                instance_id=instance.pk,
                model_name=model_name,
                prompt_version=prompt_version,
                judgement=PairwiseJudgement(overall_preference=preference),
                raw_output={},
            )
            for instance in instances
        ],
    )


def labelled_campaign(campaign, annotator):
    """Instance 1: a human prefers B clearly; instance 2: a human tie; the other two: an LLM
    prefers A slightly. Returns ``(by_human, tied, by_llm)``."""
    by_human = label_by_human(campaign, annotator, 2)
    tied = label_by_human(campaign, annotator, 0)
    by_llm = list(campaign.instances.exclude(pk__in=[by_human.pk, tied.pk]).order_by("pk"))
    label_by_llm(campaign, by_llm, -1)
    return by_human, tied, by_llm


def export(campaign, researcher, format_name, **options) -> JobRun:
    job = start_export_job(campaign=campaign, created_by=researcher, format_name=format_name, options=options)
    run_export_job(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    return job


def data_files(job, split: str = "") -> list[str]:
    files = ExportFile.objects.filter(job=job, split=split).exclude(name="README.md")
    return [str(Path(settings.EXPORT_DIR) / f.path) for f in files]


def load(job, tmp_path, split: str = ""):
    """The export's rows as ``datasets`` loads them (its json or parquet builder)."""
    import datasets

    builder = "parquet" if job.params["file_type"] == "parquet" else "json"
    return datasets.load_dataset(builder, data_files=data_files(job, split), split="train", cache_dir=str(tmp_path / "hf"))
