"""Starting LLM annotation jobs. The work itself lives in routing/ and runs in a worker;
annotate reaches it only through the Celery task name (dependencies point routing → annotate).
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from annotate.models import Campaign, JobKind, JobRun, JobStatus
from annotate.services.job_reaper import reap_stale_jobs
from annotate.services.jobs import create_job, enqueue_job

LOCAL_JUDGE_TASK = "routing.gpu.annotate_with_local_judge"
LOCAL_JUDGE_QUEUE = "gpu"
HTTP_JUDGE_TASK = "routing.llm.annotate_with_http_judge"
HTTP_JUDGE_QUEUE = "llm"


class JobAlreadyRunning(Exception):
    pass


class UnknownLLMAnnotator(ValueError):
    """No LLM annotator of that name is configured (``LLM_ANNOTATORS_JSON``)."""


def configured_llm_annotators() -> list[str]:
    """The names of the chat judges in the settings, in their configured order."""
    return list(settings.LLM_ANNOTATORS)


def _start_unless_busy(
    *, campaign: Campaign, created_by, params: dict, task_name: str, queue: str
) -> JobRun:
    """One queued-or-running job per (campaign, backend, annotator); others run side by side.
    A running one whose worker is gone is reaped first (requeued, or failed after too many lost
    workers), so a dead job never blocks the campaign."""
    reap_stale_jobs(campaign=campaign)
    # The campaign row lock: two clicks at once queue one job, the second sees it busy.
    with transaction.atomic():
        Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
        same = {f"params__{key}": params[key] for key in ("backend", "annotator") if key in params}
        busy = campaign.jobs.filter(
            kind=JobKind.LLM_ANNOTATION, status__in=[JobStatus.QUEUED, JobStatus.RUNNING], **same
        ).first()
        if busy is not None:
            who = f" ({params['annotator']})" if "annotator" in params else ""
            raise JobAlreadyRunning(f"LLM annotation job #{busy.pk}{who} is still {busy.status}.")
        job = create_job(
            kind=JobKind.LLM_ANNOTATION, campaign=campaign, created_by=created_by, params=params
        )
        enqueue_job(job=job, task_name=task_name, queue=queue)
    return job


def start_local_judge_job(*, campaign: Campaign, created_by) -> JobRun:
    """Queue the local reward-model judge over every instance without a human label.

    Refused while another local-judge job of the campaign is queued or running; a running
    one whose worker is gone is reaped first, so a dead job never blocks the campaign.
    """
    return _start_unless_busy(
        campaign=campaign,
        created_by=created_by,
        params={"backend": "local_judge", "scope": "without_human_labels"},
        task_name=LOCAL_JUDGE_TASK,
        queue=LOCAL_JUDGE_QUEUE,
    )


def start_http_judge_job(*, campaign: Campaign, created_by, annotator: str) -> JobRun:
    """Queue the configured chat judge ``annotator`` over every instance without a human label
    (on the ``llm`` queue). Several annotators may run at once (a jury); the same one is
    refused while a job of it is queued or running.
    """
    if annotator not in settings.LLM_ANNOTATORS:
        known = ", ".join(configured_llm_annotators()) or "none is configured"
        raise UnknownLLMAnnotator(f'There is no LLM annotator "{annotator}" ({known}).')
    return _start_unless_busy(
        campaign=campaign,
        created_by=created_by,
        params={"backend": "openai_chat", "annotator": annotator, "scope": "without_human_labels"},
        task_name=HTTP_JUDGE_TASK,
        queue=HTTP_JUDGE_QUEUE,
    )
