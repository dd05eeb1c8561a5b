"""Starting LLM annotation jobs. The work itself lives in routing/ and runs in a worker;
annotate reaches it only through the Celery task name (dependencies point routing → annotate).
"""

from __future__ import annotations

from annotate.models import Campaign, JobKind, JobRun, JobStatus
from annotate.services.job_reaper import reap_stale_jobs
from annotate.services.jobs import create_job, enqueue_job

LOCAL_JUDGE_TASK = "routing.gpu.annotate_with_local_judge"
LOCAL_JUDGE_QUEUE = "gpu"


class JobAlreadyRunning(Exception):
    pass


def start_local_judge_job(*, campaign: Campaign, created_by) -> JobRun:
    """Queue the local reward-model judge over every instance without a human label.

    Refused while another LLM annotation job of the campaign is queued or running; a running
    one whose worker is gone is reaped first (requeued, or failed after too many lost
    workers), so a dead job never blocks the campaign.
    """
    reap_stale_jobs(campaign=campaign)
    busy = campaign.jobs.filter(
        kind=JobKind.LLM_ANNOTATION, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
    ).first()
    if busy is not None:
        raise JobAlreadyRunning(f"LLM annotation job #{busy.pk} is still {busy.status}.")
    job = create_job(
        kind=JobKind.LLM_ANNOTATION,
        campaign=campaign,
        created_by=created_by,
        params={"backend": "local_judge", "scope": "without_human_labels"},
    )
    enqueue_job(job=job, task_name=LOCAL_JUDGE_TASK, queue=LOCAL_JUDGE_QUEUE)
    return job
