from __future__ import annotations

from celery import shared_task

from annotate.tasks import JobTask
from routing.services import run_local_judge_job


@shared_task(name="routing.gpu.annotate_with_local_judge", base=JobTask)
def annotate_with_local_judge(job_id: int) -> None:
    run_local_judge_job(job_id=job_id)
