"""Recomputing a campaign's report (agreement per question and the aggregate under its
policy) as a JobRun: a big campaign's pages read the latest result instead of computing it
in the request (see ``annotate.selectors_reports``)."""

from __future__ import annotations

from django.db import transaction

from annotate.models import Campaign, JobKind, JobRun
from annotate.selectors_reports import compute_campaign_report, latest_report_job
from annotate.services.jobs import JobFailed, JobProgress, create_job, enqueue_job, run_claimed_job

REPORT_TASK = "annotate.recompute_report"


def start_report_job(*, campaign: Campaign, created_by) -> JobRun:
    """Create a REPORT JobRun sent to ``annotate.recompute_report`` on commit; while one is
    still queued or running, return that one instead of starting a second."""
    # Locks the campaign's row: two PMs pressing "Recompute" at once start one job.
    with transaction.atomic():
        Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
        latest = latest_report_job(campaign=campaign)
        if latest is not None and not latest.is_finished:
            return latest
        job = create_job(kind=JobKind.REPORT, campaign=campaign, created_by=created_by)
        enqueue_job(job=job, task_name=REPORT_TASK, queue="default")
    return job


def run_report_job(*, job_id: int) -> None:
    """Run a queued report job. Idempotent: a rerun computes the same report again.

    Result: ``{"agreement": [per question], "aggregate": {policy, instances, labelled,
    by_provenance}, "computed_at": iso}``."""
    run_claimed_job(job_id=job_id, work=_compute)


def _compute(job: JobRun, progress: JobProgress) -> dict:
    if job.campaign is None:
        raise JobFailed("The report job has no campaign.")
    progress(0, 1, "Aggregating labels and computing agreement")
    result = compute_campaign_report(campaign=job.campaign)
    progress(1, 1, "Done")
    return result
