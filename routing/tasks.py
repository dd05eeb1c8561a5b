"""Routing's Celery tasks: thin, take a JobRun id, run one service. ``JobTask`` retries a
message that arrives while the job's worker is alive and lets one whose worker is gone take over."""

from __future__ import annotations

from celery import shared_task

from annotate.tasks import JobTask
from routing.campaign_routing import run_jury_label_job, run_routing_job
from routing.http_judge import run_http_judge_job
from routing.services import run_local_judge_job


@shared_task(name="routing.gpu.annotate_with_local_judge", base=JobTask)
def annotate_with_local_judge(job_id: int) -> None:
    run_local_judge_job(job_id=job_id)


@shared_task(name="routing.llm.annotate_with_http_judge", base=JobTask)
def annotate_with_http_judge(job_id: int) -> None:
    """Run LLM annotation JobRun ``job_id`` with its chat judge; a redelivered message is a no-op."""
    run_http_judge_job(job_id=job_id)


@shared_task(name="routing.llm.route_campaign", base=JobTask)
def route_campaign(job_id: int) -> None:
    """Run routing JobRun ``job_id`` (judge, score, decide, route the queue)."""
    run_routing_job(job_id=job_id)


@shared_task(name="routing.llm.label_with_jury", base=JobTask)
def label_with_jury(job_id: int) -> None:
    """Give a routing run's LLM-routed items their reliability-weighted jury label."""
    run_jury_label_job(job_id=job_id)
