"""The platform's local-judge job with a sequence-classification reward model (LOCAL_JUDGE_MODEL)."""

from __future__ import annotations

import pytest

from annotate.models import Annotation, AnnotationSource, JobKind, JobRun, JobStatus
from annotate.services.jobs import create_job
from routing.services import run_local_judge_job
from tests.conftest import build_campaign, make_user
from tests.models_rm.test_rm_backbones import build_tiny_reward_model


@pytest.mark.django_db
def test_local_judge_job_labels_every_instance_with_the_configured_reward_model(settings, tmp_path):
    settings.LOCAL_JUDGE_MODEL = str(build_tiny_reward_model(tmp_path / "house-rm"))
    settings.MODELS_DEVICE = "cpu"
    settings.EMBEDDING_CACHE_DIR = tmp_path / "cache"
    pm = make_user("pm")
    campaign = build_campaign(pm=pm, n_instances=5)
    job = create_job(kind=JobKind.LLM_ANNOTATION, campaign=campaign, created_by=pm)

    run_local_judge_job(job_id=job.pk)

    job = JobRun.objects.get(pk=job.pk)
    assert job.status == JobStatus.SUCCEEDED, job.error
    labels = Annotation.objects.filter(campaign=campaign, source=AnnotationSource.LLM)
    assert labels.count() == 5
    assert {label.model_name for label in labels} == {"rm/house-rm"}
    assert job.result["model"] == "rm/house-rm" and job.result["created"] == 5
    assert all(0.0 <= label.raw_output["prob_a"] <= 1.0 for label in labels)
    # A pretrained reward model brings no calibration: the fixed cut points.
    assert all(label.raw_output["thresholds"] == {"clearly": 0.75, "slightly": 0.55} for label in labels)
    # One short version per model (it fits the 64-character column on PostgreSQL); the full
    # model identity (weights fingerprint, precision, length) stays in each label's raw output.
    (model_id,) = {label.raw_output["model_id"] for label in labels}
    assert "house-rm@" in model_id and ":float32:" in model_id
    assert len({label.prompt_version for label in labels}) == 1

    # Running again is idempotent: every instance already has this judge's label.
    again = create_job(kind=JobKind.LLM_ANNOTATION, campaign=campaign, created_by=pm)
    run_local_judge_job(job_id=again.pk)
    assert JobRun.objects.get(pk=again.pk).result["created"] == 0
    assert labels.count() == 5


@pytest.mark.django_db
def test_the_local_judge_refuses_a_task_without_a_pairwise_preference():
    pm = make_user("pm")
    campaign = build_campaign(pm=pm, n_instances=2, template="helpsteer2_rating")
    job = create_job(kind=JobKind.LLM_ANNOTATION, campaign=campaign, created_by=pm)

    run_local_judge_job(job_id=job.pk)

    job = JobRun.objects.get(pk=job.pk)
    assert job.status == JobStatus.FAILED and "asks none" in job.error
    assert not Annotation.objects.filter(campaign=campaign).exists()
