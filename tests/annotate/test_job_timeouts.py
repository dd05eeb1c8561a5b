"""Hung jobs: an attempt running longer than its kind's time limit (JOB_TIMEOUT_S, or
JOB_KIND_TIMEOUT_S for the kind) is failed with a clear error, its partial output is discarded,
and the hung run can write nothing afterwards; the task's message carries Celery's soft and hard
time limits."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.db import connection
from django.utils import timezone

from annotate.models import JobRun, JobStatus
from annotate.services.exports import start_export_job
from annotate.services.job_reaper import reap_stale_jobs
from annotate.services.jobs import (
    HARD_TIME_LIMIT_GRACE_S,
    JobLost,
    JobProgress,
    claim_job,
    finish_job,
    run_claimed_job,
)
from tests.annotate.test_job_recovery import queued_import
from tests.conftest import build_campaign, is_postgres, make_user


@pytest.fixture
def pm(db):
    return make_user("pm")


def started_ago(job: JobRun, *, seconds: float) -> None:
    """The job's attempt started ``seconds`` ago; its heartbeat is fresh (its worker is alive)."""
    now = timezone.now()
    JobRun.objects.filter(pk=job.pk).update(
        started_at=now - timedelta(seconds=seconds), heartbeat_at=now
    )


def test_a_running_job_past_its_kinds_time_limit_is_failed_although_its_worker_beats(
    pm,
    settings,
    sent_tasks,
):
    settings.JOB_TIMEOUT_S = 3600
    settings.JOB_KIND_TIMEOUT_S = {"import": 600}
    _, job = queued_import(pm=pm)
    claimed = claim_job(job_id=job.pk)
    started_ago(job, seconds=601)

    assert reap_stale_jobs().failed == [job.pk]

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error == (
        "The job ran longer than its time limit (600 s for import jobs) and was stopped; "
        "nothing it wrote was kept."
    )
    # The hung run, should it wake up, can write nothing.
    with pytest.raises(JobLost):
        JobProgress(claimed, min_interval=0)(1, 3)
    assert finish_job(job=claimed, result={"created": 3}) is False
    assert JobRun.objects.get(pk=job.pk).status == JobStatus.FAILED


def test_a_running_job_within_its_time_limit_is_left_alone(pm, settings, sent_tasks):
    settings.JOB_KIND_TIMEOUT_S = {"import": 600}
    _, job = queued_import(pm=pm)
    claim_job(job_id=job.pk)
    started_ago(job, seconds=599)

    assert reap_stale_jobs().failed == []
    assert JobRun.objects.get(pk=job.pk).status == JobStatus.RUNNING


def test_a_redelivered_message_for_a_hung_job_fails_it_instead_of_running_it_again(pm, settings):
    settings.JOB_TIMEOUT_S = 60
    _, job = queued_import(pm=pm)
    claim_job(job_id=job.pk)
    started_ago(job, seconds=61)

    assert claim_job(job_id=job.pk) is None
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "time limit (60 s" in job.error


def test_a_hung_export_is_failed_and_its_partial_files_are_removed(
    pm, settings, tmp_path, sent_tasks
):
    settings.EXPORT_DIR = str(tmp_path)
    settings.JOB_KIND_TIMEOUT_S = {"export": 120}
    campaign = build_campaign(pm=pm, n_instances=2)
    job = start_export_job(
        campaign=campaign, created_by=pm, format_name="generic", options={"file_type": "jsonl"}
    )
    claim_job(job_id=job.pk)
    partial = Path(tmp_path) / campaign.slug / f"job-{job.pk}"
    partial.mkdir(parents=True)
    (partial / "half-written.jsonl").write_text('{"id": ')
    started_ago(job, seconds=121)

    assert reap_stale_jobs().failed == [job.pk]
    assert not partial.exists()
    assert "120 s for export jobs" in JobRun.objects.get(pk=job.pk).error


def test_celerys_soft_time_limit_inside_the_work_fails_the_job_with_the_reason(pm, settings):
    settings.JOB_TIMEOUT_S = 900
    _, job = queued_import(pm=pm)

    def hangs_until_the_soft_limit(job, progress):
        raise SoftTimeLimitExceeded()

    run_claimed_job(job_id=job.pk, work=hangs_until_the_soft_limit)

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error.startswith("The job ran longer than its time limit (900 s for import jobs)")


def test_a_jobs_message_carries_its_kinds_soft_and_hard_time_limits(
    pm, settings, sent_tasks, django_capture_on_commit_callbacks
):
    settings.JOB_KIND_TIMEOUT_S = {"import": 1200}
    with django_capture_on_commit_callbacks(execute=True):
        queued_import(pm=pm)

    ((name, options),) = sent_tasks
    assert name == "annotate.run_import"
    assert (options["soft_time_limit"], options["time_limit"]) == (
        1200,
        1200 + HARD_TIME_LIMIT_GRACE_S,
    )


# --- A real worker -------------------------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.skipif(not is_postgres(), reason="hangs in pg_sleep")
@pytest.mark.parametrize("where", ["sleep", "database", "transaction"])
def test_a_real_worker_fails_a_job_past_its_soft_time_limit_naming_the_limit_and_runs_the_next(
    transactional_db, settings, tmp_path, where
):
    from annotate.models import JobKind
    from annotate.services.jobs import create_job, enqueue_job
    from tests.annotate.hanging_job_tasks import HANGING_JOB_TASK
    from tests.annotate.test_job_recovery import WorkerProcess, purge_broker, wait_for

    limit_s = 10  # JOB_KIND_TIMEOUT_S's minimum
    # The sender puts the limit on the message; the worker names it in the error: both read it.
    settings.JOB_KIND_TIMEOUT_S = {"routing": limit_s}
    purge_broker()
    worker = WorkerProcess(
        queues="default", log=tmp_path / "worker.log", JOB_KIND_TIMEOUT_S=f"routing={limit_s}"
    )
    worker.command += ["--include", "tests.annotate.hanging_job_tasks"]
    worker.start()
    try:
        following = create_job(kind=JobKind.ROUTING, campaign=None, params={"hang_s": 0})
        # "transaction" hangs holding a lock on the following job's row: that job can be
        # claimed only once the hung query's server session is gone, not when its 120 s end.
        hung = create_job(
            kind=JobKind.ROUTING,
            campaign=None,
            params={"hang_s": 120, "where": where, "lock_job_id": following.pk},
        )
        enqueue_job(job=hung, task_name=HANGING_JOB_TASK)
        enqueue_job(job=following, task_name=HANGING_JOB_TASK)

        finished = JobRun.objects.filter(status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED])
        wait_for(
            lambda: finished.filter(pk__in=[hung.pk, following.pk]).count() == 2,
            timeout=limit_s + 40,
            what="both jobs to finish",
            workers=[worker],
        )
    finally:
        worker.stop()
        purge_broker()

    hung.refresh_from_db()
    following.refresh_from_db()
    assert hung.status == JobStatus.FAILED, worker.log_tail()
    assert hung.error.startswith(f"The job ran longer than its time limit ({limit_s} s for routing jobs)")
    # Celery starts the clock as the task starts, a moment before the claim writes started_at.
    assert limit_s - 1 <= (hung.finished_at - hung.started_at).total_seconds() < limit_s + 15
    assert hung.attempts == 1
    assert (following.status, following.result) == (JobStatus.SUCCEEDED, {"hung_s": 0})
    assert following.started_at >= hung.finished_at  # one pool child: it ran after the hung job
    with connection.cursor() as cursor:
        # The interrupted query was stopped on the server too, not left running to its end.
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%%'")
        assert cursor.fetchone()[0] == 0
