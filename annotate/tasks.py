"""Celery tasks of the annotate app: thin wrappers that take ids and call one service."""

from __future__ import annotations

import logging

from celery import Task, shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import DatabaseError, connections

from annotate.services.exports import run_export_job
from annotate.services.import_uploads import sweep_upload_files
from annotate.services.imports import run_import_job
from annotate.services.job_reaper import reap_stale_jobs
from annotate.services.jobs import TRANSIENT_DATABASE_ERRORS, JobBusy
from annotate.services.reports import run_report_job

logger = logging.getLogger(__name__)


class JobTask(Task):
    """Base of the tasks that run a JobRun (``run_claimed_job``).

    A message for a job that a live worker holds (``JobBusy``), or one that met a dropped
    database connection, is retried after the stale threshold instead of being dropped: by
    then the job has finished (the retry is a no-op) or its worker is gone and the retry
    takes it over. Nothing else is retried.
    """

    acks_late = True
    max_retries = None

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except (JobBusy, *TRANSIENT_DATABASE_ERRORS) as exc:
            raise self.retry(exc=exc, countdown=settings.JOB_STALE_AFTER_S) from None


@shared_task(name="annotate.run_import", base=JobTask)
def run_import(job_id: int) -> None:
    """Run import JobRun ``job_id``; a redelivered message never imports twice."""
    run_import_job(job_id=job_id)


@shared_task(name="annotate.run_export", base=JobTask)
def run_export(job_id: int) -> None:
    """Run export JobRun ``job_id``; a redelivered message writes the same files again."""
    run_export_job(job_id=job_id)


@shared_task(name="annotate.recompute_report", base=JobTask)
def recompute_report(job_id: int) -> None:
    """Run report JobRun ``job_id`` (agreement and aggregate); a rerun computes it again."""
    run_report_job(job_id=job_id)


@shared_task(name="annotate.reap_stale_jobs")
def reap_stale_jobs_task() -> None:
    """Requeue (or fail) the running jobs whose worker is gone; sent by Celery beat."""
    reap_stale_jobs()


@shared_task(name="annotate.sweep_upload_files")
def sweep_upload_files_task() -> None:
    """Remove upload files of finished imports past UPLOAD_RETENTION_HOURS; sent by Celery beat."""
    swept = sweep_upload_files()
    if swept.files_of_finished_imports or swept.orphan_files:
        logger.info(
            "Upload sweep: %s files of finished imports, %s orphan files removed",
            swept.files_of_finished_imports,
            swept.orphan_files,
        )


@worker_ready.connect
def reap_at_worker_start(sender=None, **kwargs) -> None:
    """A restarted worker takes back at once the jobs that its killed predecessor on this host
    left RUNNING (their pid is gone), without waiting for their heartbeat to go stale."""
    try:
        reaped = reap_stale_jobs()
    except DatabaseError:
        # The worker starts all the same; beat reaps once the database answers.
        logger.exception("Reaping stale jobs at worker start failed")
        return
    finally:
        connections.close_all()  # the worker's main process keeps no connection open
    if reaped.requeued or reaped.failed:
        logger.warning(
            "Jobs of lost workers: requeued %s, failed %s", reaped.requeued, reaped.failed
        )
