"""Routing's writes: running LLM annotator jobs over a campaign's instances."""

from __future__ import annotations

from django.conf import settings

from annotate.models import Annotation, AnnotationSource, Instance, JobRun
from annotate.selectors import instances_without_human_labels
from annotate.services.annotations import record_llm_annotations
from annotate.services.jobs import JobFailed, JobProgress, run_claimed_job
from annotate.services.task_schemas import campaign_schema
from routing.llm_annotators.local_judge import (
    PairToJudge,
    judge_pairs_with_local_judge,
    label_version,
    load_local_judge,
)

BATCH_SIZE = 64


LOCAL_JUDGE_NAME = "local-judge"


def run_local_judge_job(*, job_id: int) -> None:
    run_claimed_job(job_id=job_id, work=_annotate_with_local_judge)


def _annotate_with_local_judge(job: JobRun, progress: JobProgress) -> dict:
    return label_campaign_with_local_judge(
        campaign=job.campaign, job=job, progress=progress, scope=job.params.get("scope", "")
    )


def judge_targets(*, campaign, scope: str, already) -> list:
    """The instances a judge should label: every instance (``scope == "all"``, what routing
    needs: the jury's verdicts on the human-labelled seed are how its reliability is measured)
    or those without a human label; minus ``already`` (instance ids it labelled before)."""
    if scope == "all":
        candidates = Instance.objects.filter(campaign=campaign).order_by("id")
    else:
        candidates = instances_without_human_labels(campaign=campaign)
    return list(candidates.exclude(pk__in=already).prefetch_related("responses"))


def label_campaign_with_local_judge(
    *, campaign, job: JobRun | None, progress: JobProgress, scope: str = ""
) -> dict:
    """Label the campaign's pairs with the local reward-model judge (see ``judge_targets``);
    resumable: what this judge and version already labelled is skipped. The result names the
    judge (``model``, ``version``) so that callers can find its labels."""
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
        prompt_version=label_version(judge),
    ).values("instance_id")
    # Re-running after a crash resumes: instances this judge already labelled are skipped.
    candidates = judge_targets(campaign=campaign, scope=scope, already=already)
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
    result = {"judged": total, "created": created, "model": judge.name, "version": label_version(judge)}
    if not_pairs:
        result["skipped_not_a_pair"] = not_pairs
    return result
