"""Long jobs as JobRun rows: create, claim, report progress, finish.

A Celery task receives a JobRun id, claims it with :func:`claim_job` and runs a plain
service function that reports through :class:`JobProgress`. Claiming is a conditional
UPDATE, so a message delivered twice (``acks_late`` plus a lost worker) never runs the
same job concurrently, and a finished job is never re-run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from annotate.models import Campaign, JobKind, JobRun, JobStatus

logger = logging.getLogger(__name__)

# A RUNNING job whose worker has not reported for this long is taken to be dead and may
# be claimed again by a redelivered message.
STALE_HEARTBEAT = timedelta(minutes=10)


class JobFailed(Exception):
    """A known, user-facing failure: its message is shown in the UI as it is."""

    def __init__(self, message: str, *, details: list[dict] | None = None) -> None:
        super().__init__(message)
        self.details = details or []


def create_job(
    *, kind: JobKind, campaign: Campaign | None, created_by=None, params: dict | None = None
) -> JobRun:
    return JobRun.objects.create(
        kind=kind, campaign=campaign, created_by=created_by, params=params or {}
    )


def enqueue_job(*, job: JobRun, task_name: str, queue: str | None = None) -> None:
    """Send the job's task once the surrounding transaction commits (never before)."""
    from config.celery import app

    options: dict[str, Any] = {"args": [job.pk]}
    if queue:
        options["queue"] = queue
    transaction.on_commit(lambda: app.send_task(task_name, **options))


def claim_job(*, job_id: int) -> JobRun | None:
    """QUEUED (or RUNNING with a stale heartbeat) → RUNNING; None when someone else has it."""
    now = timezone.now()
    claimable = Q(status=JobStatus.QUEUED) | Q(
        status=JobStatus.RUNNING, heartbeat_at__lt=now - STALE_HEARTBEAT
    )
    job = JobRun.objects.filter(pk=job_id).first()
    if job is None:
        logger.warning("JobRun %s does not exist; message dropped", job_id)
        return None
    claimed = JobRun.objects.filter(claimable, pk=job_id).update(
        status=JobStatus.RUNNING,
        started_at=now,
        heartbeat_at=now,
        attempts=job.attempts + 1,
        error="",
        error_details=[],
    )
    if claimed != 1:
        logger.info("JobRun %s is %s; not claimed", job_id, job.status)
        return None
    job.refresh_from_db()
    return job


@dataclass
class JobProgress:
    """Progress reporter handed to services; writes at most every ``min_interval`` seconds."""

    job: JobRun | None
    min_interval: float = 0.5
    _last_write: float = 0.0

    def __call__(self, done: int, total: int | None = None, message: str = "") -> None:
        if self.job is None:
            return
        import time

        now = time.monotonic()
        finished = total is not None and done >= total
        if not finished and now - self._last_write < self.min_interval:
            return
        self._last_write = now
        fields = {"progress_done": done, "heartbeat_at": timezone.now()}
        if total is not None:
            fields["progress_total"] = total
        if message:
            fields["message"] = message[:300]
        JobRun.objects.filter(pk=self.job.pk).update(**fields)


def finish_job(*, job: JobRun, result: dict | None = None, message: str = "") -> None:
    JobRun.objects.filter(pk=job.pk).update(
        status=JobStatus.SUCCEEDED,
        result=result or {},
        message=message[:300],
        finished_at=timezone.now(),
    )


def fail_job(*, job: JobRun, error: str, details: list[dict] | None = None) -> None:
    JobRun.objects.filter(pk=job.pk).update(
        status=JobStatus.FAILED,
        error=error,
        error_details=details or [],
        finished_at=timezone.now(),
    )


def run_claimed_job(*, job_id: int, work: Callable[[JobRun, JobProgress], dict]) -> None:
    """Claim the job, run ``work(job, progress)``, record its result or its failure.

    ``JobFailed`` is a known failure shown as it is; any other exception is recorded
    with a generic message (details go to the log) and re-raised for Celery.
    """
    job = claim_job(job_id=job_id)
    if job is None:
        return
    try:
        result = work(job, JobProgress(job))
    except JobFailed as exc:
        fail_job(job=job, error=str(exc), details=exc.details)
        return
    except Exception:
        logger.exception("JobRun %s failed", job_id)
        fail_job(job=job, error="The job failed unexpectedly; the worker log has the details.")
        raise
    finish_job(job=job, result=result, message="Done")
