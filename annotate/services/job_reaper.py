"""The reaper: RUNNING jobs past their kind's time limit are failed (hung), RUNNING jobs whose
worker is gone are requeued, or failed with the reason, and QUEUED jobs whose message never
reached the broker (it was down) are sent again.

Celery beat sends it periodically (``annotate.reap_stale_jobs``), every worker runs it as it
starts, and starting an LLM job runs it for the campaign first, so a job whose worker was
killed never stays RUNNING (and never blocks its campaign) for long.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from annotate.models import Campaign, JobRun, JobStatus
from annotate.services import exports as _exports  # noqa: F401  (registers what discards a hung export's files)
from annotate.services.jobs import (
    fail_abandoned_job,
    fail_timed_out_job,
    is_past_its_time_limit,
    owner_is_gone,
    send_job,
    send_job_on_commit,
    stale_after,
    this_host,
    unchanged_since_read,
)

logger = logging.getLogger(__name__)


# A QUEUED job without ``sent_at`` younger than this may still be on its way to the broker
# (its commit's send has not finished yet): it is left alone.
UNSENT_GRACE = timedelta(seconds=10)


@dataclass(frozen=True)
class ReapedJobs:
    requeued: list[int]
    failed: list[int]
    resent: list[int] = field(default_factory=list)


def reap_stale_jobs(*, campaign: Campaign | None = None) -> ReapedJobs:
    """Requeue every RUNNING job (of ``campaign``, or all) whose owner is gone, sending its task
    again; fail it instead once ``JOB_MAX_ATTEMPTS`` workers were lost on it, or when it has
    no task to send.

    Idempotent and safe beside live workers and other reapers: each change is a conditional
    UPDATE of the row as read.
    """
    now = timezone.now()
    running = JobRun.objects.filter(status=JobStatus.RUNNING)
    if campaign is not None:
        running = running.filter(campaign=campaign)
    candidates = running.filter(
        Q(heartbeat_at__lt=now - stale_after())
        | Q(heartbeat_at__isnull=True)
        | Q(owner_host=this_host())
    )
    requeued, failed = [], []
    resent = resend_unsent_jobs(campaign=campaign)
    # Hung jobs first: their heartbeat thread may still beat while the work is stuck.
    shortest = min([settings.JOB_TIMEOUT_S, *settings.JOB_KIND_TIMEOUT_S.values()])
    for job in running.filter(started_at__lt=now - timedelta(seconds=shortest)):
        if is_past_its_time_limit(job=job, now=now) and fail_timed_out_job(job=job, now=now):
            failed.append(job.pk)
    for job in candidates.exclude(pk__in=failed):
        if not owner_is_gone(job=job, now=now):
            continue
        if job.attempts >= settings.JOB_MAX_ATTEMPTS or not job.task_name:
            if fail_abandoned_job(job=job, now=now):
                failed.append(job.pk)
        elif _requeue_abandoned_job(job=job):
            requeued.append(job.pk)
    return ReapedJobs(requeued=requeued, failed=failed, resent=resent)


def resend_unsent_jobs(*, campaign: Campaign | None = None) -> list[int]:
    """Send again the message of every QUEUED job (of ``campaign``, or all) that the broker
    never took (``sent_at`` is null: it was down when the job was queued). Returns their ids.

    A duplicate message (the first send did reach the broker but ``sent_at`` was not written)
    is harmless: the job is claimed once, and a message for a finished job is a no-op.
    """
    unsent = JobRun.objects.filter(
        status=JobStatus.QUEUED,
        sent_at__isnull=True,
        created_at__lt=timezone.now() - UNSENT_GRACE,
    ).exclude(task_name="")
    if campaign is not None:
        unsent = unsent.filter(campaign=campaign)
    resent = []
    for job_id, task_name, queue, kind in unsent.values_list("pk", "task_name", "queue", "kind"):
        if not send_job(job_id=job_id, task_name=task_name, queue=queue, kind=kind):
            break  # the broker is still down; the next reap tries again
        logger.warning("JobRun %s: its message never reached the broker; sent again", job_id)
        resent.append(job_id)
    return resent


def _requeue_abandoned_job(*, job: JobRun) -> bool:
    requeued = unchanged_since_read(job).update(
        status=JobStatus.QUEUED,
        owner_host="",
        owner_pid=None,
        claim_token="",
        sent_at=None,
        message=f"Requeued after the worker stopped (attempt {job.attempts})",
    )
    if requeued != 1:
        return False
    logger.warning("JobRun %s: its worker is gone; requeued (attempt %d)", job.pk, job.attempts)
    send_job_on_commit(job_id=job.pk, task_name=job.task_name, queue=job.queue, kind=job.kind)
    return True
