"""Asking for a routing run: which LLM annotators can route, and queueing the job."""

from __future__ import annotations

from django.db import transaction

from annotate.models import (
    Campaign,
    Instance,
    JobKind,
    JobRun,
    JobStatus,
)
from annotate.services.jobs import create_job, enqueue_job
from routing.campaign_routing.names import LLM_QUEUE, LOCAL_JUDGE, ROUTE_TASK
from routing.models import RoutingStrategy
from routing.routing_seed import default_seed_size


class RoutingRefused(ValueError):
    """A routing request that cannot run; the message says why, for the PM."""


def routable_annotators() -> list[str]:
    """The LLM annotators a campaign can route with: the local judge, then configured chat judges."""
    from annotate.services.llm_jobs import configured_llm_annotators

    return [LOCAL_JUDGE, *configured_llm_annotators()]


def start_routing_job(
    *,
    campaign: Campaign,
    created_by,
    budget: int,
    strategy: str,
    annotators: list[str],
    seed_size: int | None = None,
) -> JobRun:
    """Queue a routing run. ``annotators[0]`` is the main judge, the others the jury (an
    LLM-routed item gets their reliability-weighted label). ``budget``: instances humans label
    in all, the ones they already labelled included. ``seed_size``: of those, how many are
    drawn at random so that the judges' reliabilities can be measured on them
    (``routing.routing_seed``; default ``min(20, budget // 2)``)."""
    if strategy not in RoutingStrategy.values:
        raise RoutingRefused(f"Unknown strategy {strategy!r}.")
    known = routable_annotators()
    unknown = [name for name in annotators if name not in known]
    if unknown:
        raise RoutingRefused(
            f"Unknown LLM annotator {unknown[0]!r}; configured: {', '.join(known)}."
        )
    if not annotators:
        raise RoutingRefused("Choose at least one LLM annotator: the main judge.")
    if len(set(annotators)) != len(annotators):
        raise RoutingRefused("Each LLM annotator can be chosen once.")
    from annotate.services.job_reaper import reap_stale_jobs

    n = Instance.objects.filter(campaign=campaign).count()
    if not 0 <= budget <= n:
        raise RoutingRefused(f"The budget must be between 0 and the campaign's {n} instances.")
    if seed_size is None:
        seed_size = default_seed_size(budget)
    if not 0 <= seed_size <= budget:
        raise RoutingRefused(
            f"The seed is part of the human budget: between 0 and {budget} instances."
        )
    reap_stale_jobs(campaign=campaign)  # a routing job whose worker died must not block this one
    with transaction.atomic():
        # One routing job at a time per campaign: the row lock orders two PMs' clicks.
        Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
        busy = campaign.jobs.filter(
            kind=JobKind.ROUTING, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
        ).first()
        if busy is not None:
            raise RoutingRefused(f"Routing job #{busy.pk} is still {busy.status}.")
        job = create_job(
            kind=JobKind.ROUTING,
            campaign=campaign,
            created_by=created_by,
            params={
                "budget": budget,
                "strategy": strategy,
                "annotators": list(annotators),
                "seed_size": int(seed_size),
            },
        )
        enqueue_job(job=job, task_name=ROUTE_TASK, queue=LLM_QUEUE)
    return job
