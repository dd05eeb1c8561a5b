"""Import uploads do not pile up under MEDIA_ROOT: an import deletes its stored file once it is
finished (succeeded, refused with row errors, or failed), keeps it while a later run may still
need it (another live worker holds the job, this run lost it), and beat's sweep removes files
older than UPLOAD_RETENTION_HOURS whose import is finished, and orphans, never a file of a
queued or running import. Real files in a temporary MEDIA_ROOT throughout."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from celery.exceptions import Retry
from django.utils import timezone

from annotate.models import ImportUpload, JobRun, JobStatus
from annotate.services import imports as imports_service
from annotate.services.import_uploads import sweep_upload_files
from annotate.services.imports import run_import_job, start_import_job
from annotate.services.jobs import JobLost, claim_job
from tests.conftest import build_campaign, make_user, pairwise_rows


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def campaign(db):
    return build_campaign(pm=make_user("pm"), n_instances=0)


def uploaded_import(campaign, data: bytes | None = None) -> tuple[JobRun, Path]:
    job = start_import_job(
        campaign=campaign,
        created_by=None,
        filename="rows.jsonl",
        data=pairwise_rows(3) if data is None else data,
        file_format="generic",
    )
    stored = Path(ImportUpload.objects.get(job=job).file.path)
    assert stored.is_file()
    return job, stored


def status_of(job: JobRun) -> str:
    job.refresh_from_db()
    return job.status


def test_a_successful_import_deletes_its_stored_upload(media_root, campaign):
    job, stored = uploaded_import(campaign)

    run_import_job(job_id=job.pk)

    assert status_of(job) == JobStatus.SUCCEEDED
    assert not stored.exists()
    assert ImportUpload.objects.get(job=job).file.name == ""
    assert campaign.instances.count() == 3


def test_an_import_refused_with_row_errors_deletes_its_stored_upload(media_root, campaign):
    job, stored = uploaded_import(campaign, data=b'{"id": "a"}\nnot json\n')

    run_import_job(job_id=job.pk)

    assert status_of(job) == JobStatus.FAILED and job.error_details
    assert not stored.exists()


def test_an_import_that_fails_unexpectedly_deletes_its_stored_upload(media_root, campaign, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(imports_service, "import_instances", broken)
    job, stored = uploaded_import(campaign)

    with pytest.raises(RuntimeError):
        run_import_job(job_id=job.pk)

    assert status_of(job) == JobStatus.FAILED
    assert not stored.exists()


def test_a_run_that_lost_its_import_to_another_worker_leaves_the_file_for_it(
    media_root, campaign, monkeypatch
):
    def taken_over(*, import_job, **kwargs):
        raise JobLost(import_job.pk)

    monkeypatch.setattr(imports_service, "import_instances", taken_over)
    job, stored = uploaded_import(campaign)

    run_import_job(job_id=job.pk)

    assert status_of(job) == JobStatus.RUNNING
    assert stored.is_file()


def test_a_message_for_an_import_running_in_a_live_worker_leaves_its_file(media_root, campaign):
    job, stored = uploaded_import(campaign)
    claim_job(job_id=job.pk)  # a live worker (this process) runs it

    from annotate.tasks import run_import

    with pytest.raises(Retry):
        run_import.apply(args=[job.pk], throw=True)

    assert status_of(job) == JobStatus.RUNNING
    assert stored.is_file()


# --- The sweep -------------------------------------------------------------------------------------


def uploaded_hours_ago(job: JobRun, stored: Path, *, hours: float) -> None:
    then = timezone.now() - timedelta(hours=hours)
    JobRun.objects.filter(pk=job.pk).update(created_at=then)
    os.utime(stored, (then.timestamp(), then.timestamp()))


def test_the_sweep_removes_old_files_of_finished_imports_and_never_those_of_unfinished_ones(
    media_root, campaign, settings, sent_tasks
):
    settings.UPLOAD_RETENTION_HOURS = 24
    jobs = {}
    for state in ("queued", "running", "succeeded", "failed", "recent-failed"):
        job, stored = uploaded_import(campaign)
        jobs[state] = (job, stored)
        uploaded_hours_ago(job, stored, hours=2 if state.startswith("recent") else 48)
    # Finished without deleting their file (e.g. failed by the reaper as hung or abandoned).
    for state, status in (("running", JobStatus.RUNNING), ("succeeded", JobStatus.SUCCEEDED),
                          ("failed", JobStatus.FAILED), ("recent-failed", JobStatus.FAILED)):  # fmt: skip
        JobRun.objects.filter(pk=jobs[state][0].pk).update(status=status)

    swept = sweep_upload_files()

    left = {state for state, (_, stored) in jobs.items() if stored.exists()}
    assert left == {"queued", "running", "recent-failed"}
    assert swept.files_of_finished_imports == 2
    assert sweep_upload_files().files_of_finished_imports == 0  # idempotent


def test_the_sweep_removes_old_files_no_import_refers_to_and_keeps_young_ones(
    media_root, campaign, settings
):
    settings.UPLOAD_RETENTION_HOURS = 24
    folder = media_root / "imports" / "2026" / "11"
    folder.mkdir(parents=True)
    old_orphan, young_orphan = folder / "old.upload", folder / "young.upload"
    for path in (old_orphan, young_orphan):
        path.write_bytes(b"{}\n")
    day_and_a_half_ago = time.time() - 36 * 3600
    os.utime(old_orphan, (day_and_a_half_ago, day_and_a_half_ago))
    _, referenced = uploaded_import(campaign)
    os.utime(referenced, (day_and_a_half_ago, day_and_a_half_ago))  # its job is still queued

    swept = sweep_upload_files()

    assert swept.orphan_files == 1
    assert (old_orphan.exists(), young_orphan.exists(), referenced.exists()) == (False, True, True)


def test_beat_sends_the_upload_sweep_to_a_registered_task(settings):
    from config.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["sweep-upload-files"]
    assert entry["task"] == "annotate.sweep_upload_files"
    assert entry["task"] in app.tasks
    assert 0 < entry["schedule"] <= 3600
