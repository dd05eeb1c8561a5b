"""Routing's writes: running LLM annotator jobs over a campaign's instances."""

from __future__ import annotations

from django.conf import settings

from annotate.models import Annotation, AnnotationSource, JobRun
from annotate.selectors import instances_without_human_labels
from annotate.services.annotations import record_llm_annotations
from annotate.services.jobs import JobFailed, JobProgress, run_claimed_job
from annotate.services.task_schemas import campaign_schema
from routing.llm_annotators.local_judge import (
    PairToJudge,
    judge_pairs_with_local_judge,
    load_local_judge,
)

BATCH_SIZE = 64


def run_local_judge_job(*, job_id: int) -> None:
    run_claimed_job(job_id=job_id, work=_annotate_with_local_judge)


def _annotate_with_local_judge(job: JobRun, progress: JobProgress) -> dict:
    campaign = job.campaign
    if campaign_schema(campaign).primary is None:
        raise JobFailed(
            "The local judge gives an overall pairwise preference, and this campaign's task asks none "
            "(e.g. a rating-only task): nothing was labelled."
        )
    progress(0, None, "Loading the local judge")
    judge = load_local_judge(
        settings.LOCAL_JUDGE_ARTIFACT,
        settings.LOCAL_JUDGE_BACKBONE,
        settings.LOCAL_JUDGE_MODEL,
        settings.MODELS_DEVICE,
        str(settings.EMBEDDING_CACHE_DIR),
    )
    already = Annotation.objects.filter(
        campaign=campaign,
        source=AnnotationSource.LLM,
        model_name=judge.name,
        prompt_version=judge.version,
    ).values("instance_id")
    # Re-running after a crash resumes: instances this judge already labelled are skipped.
    candidates = list(
        instances_without_human_labels(campaign=campaign)
        .exclude(pk__in=already)
        .prefetch_related("responses")
    )
    # The judge compares a pair: items with other than two responses are counted, not judged.
    targets = [instance for instance in candidates if len(instance.responses.all()) == 2]
    not_pairs = len(candidates) - len(targets)
    total = len(targets)
    progress(0, total, f"Judging {total} instances with {judge.name}")
    created = 0
    for start in range(0, total, BATCH_SIZE):
        batch = targets[start : start + BATCH_SIZE]
        pairs = []
        for instance in batch:
            responses = sorted(instance.responses.all(), key=lambda r: r.position)
            pairs.append(
                PairToJudge(
                    instance_id=instance.pk,
                    messages=instance.messages,
                    response_a=responses[0].text,
                    response_b=responses[1].text,
                )
            )
        labels = judge_pairs_with_local_judge(judge=judge, pairs=pairs)
        created += record_llm_annotations(campaign=campaign, labels=labels, job=job)
        progress(start + len(batch), total, f"Judged {start + len(batch)} of {total}")
    result = {"judged": total, "created": created, "model": judge.name, "version": judge.version}
    if not_pairs:
        result["skipped_not_a_pair"] = not_pairs
    return result
