"""Routing's writes for the OpenAI-compatible chat judges (``LLM_ANNOTATORS_JSON``): a JobRun
labels a campaign's instances that have no human label with one configured annotator.

The Django shell around ``routing.llm_annotators.openai_chat``: it turns the campaign's task
schema into the judge's task, its instances into pairs, and the verdicts into LLM labels.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from annotate.judgements import PairwiseJudgement
from annotate.models import Annotation, AnnotationSource, JobRun, QuestionKind
from annotate.services.annotations import LLMPairwiseLabel, record_llm_annotations
from annotate.services.jobs import JobFailed, JobProgress, run_claimed_job
from annotate.services.task_schemas import QuestionView, SchemaView, campaign_schema
from config.env import read_str
from routing.llm_annotators.openai_chat import (
    ChatJudgeConfig,
    ChatPair,
    DirectoryCache,
    EndpointRefused,
    JudgeTask,
    PairFailure,
    PairVerdict,
    PairwiseQuestion,
    RatingQuestion,
    ScalePoint,
    Usage,
    judge_pairs,
    prompt_version,
)

BACKEND = "openai_chat"
# Pairs judged between two recordings (a crash loses at most this much work, and the cache
# holds the answers already paid for).
CHUNK_SIZE = 64
FAILURES_LISTED = 5


def _question_text(question: QuestionView) -> str:
    return f"{question.label} {question.help_text}".strip()


def _pairwise(question: QuestionView) -> PairwiseQuestion:
    # "Neither response is valid" (no value) is a human's way out, not a point of the scale.
    scale = tuple(ScalePoint(o.value, o.label) for o in question.options if o.value is not None)
    return PairwiseQuestion(question.key, _question_text(question), scale)


def judge_task_for(*, schema: SchemaView, guidelines: str = "") -> JudgeTask | None:
    """The chat judge's task from a task schema: the primary question as the overall
    preference, the other pairwise questions as aspects, per-response ratings as ratings.
    None when the schema asks none of them. Other questions (confidence, reasons, text) are
    not asked; a ``justification`` text question gets the judge's justification."""
    preference = _pairwise(schema.primary) if schema.primary is not None else None
    aspects = tuple(
        _pairwise(q) for q in schema.questions if q.kind == QuestionKind.PAIRWISE and not q.primary
    )
    ratings = tuple(
        RatingQuestion(
            q.key,
            _question_text(q),
            tuple(ScalePoint(o.value, o.description or o.label) for o in q.options),
        )
        for q in schema.questions
        if q.kind == QuestionKind.RATING
        and q.per_response
        and q.options
        and all(o.value is not None for o in q.options)
    )
    if preference is None and not aspects and not ratings:
        return None
    return JudgeTask(preference=preference, aspects=aspects, ratings=ratings, guidelines=guidelines)


def chat_config_for(name: str) -> ChatJudgeConfig:
    """The configured annotator, with its API key read now from the variable it names."""
    entry = settings.LLM_ANNOTATORS.get(name)
    if entry is None:
        raise JobFailed(
            f'The LLM annotator "{name}" is no longer configured (LLM_ANNOTATORS_JSON).'
        )
    fields = dict(entry)
    key_variable = fields.pop("api_key_env", "")
    api_key = ""
    if key_variable:
        try:
            api_key = read_str(key_variable, "")
        except ImproperlyConfigured as exc:
            raise JobFailed(f"{name}: {exc}") from None
        if not api_key:
            raise JobFailed(
                f"{name}: its API key variable {key_variable} (or {key_variable}_FILE) is not set on the worker."
            )
    return ChatJudgeConfig(**fields, api_key=api_key)


def run_http_judge_job(*, job_id: int) -> None:
    run_claimed_job(job_id=job_id, work=_annotate_with_http_judge)


def _label(
    *, verdict: PairVerdict, config: ChatJudgeConfig, model_name: str, version: str
) -> LLMPairwiseLabel:
    return LLMPairwiseLabel(
        instance_id=int(verdict.item_id),
        model_name=model_name,
        prompt_version=version,
        judgement=PairwiseJudgement(
            overall_preference=verdict.preference,
            aspect_preferences=verdict.aspects,
            response_ratings=verdict.ratings,
            justification=verdict.justification,
            confidence=verdict.confidence,
        ),
        raw_output={
            "backend": BACKEND,
            "annotator": config.name,
            "model": config.model,
            "base_url": config.base_url,
            "prompt_version": version,
            **verdict.as_record(),
        },
        cost_usd=round(verdict.usage.cost_usd, 6),
    )


def _annotate_with_http_judge(job: JobRun, progress: JobProgress) -> dict:
    return label_campaign_with_http_judge(
        campaign=job.campaign,
        job=job,
        progress=progress,
        annotator=job.params.get("annotator", ""),
        scope=job.params.get("scope", ""),
    )


def label_campaign_with_http_judge(
    *, campaign, job: JobRun | None, progress: JobProgress, annotator: str, scope: str = ""
) -> dict:
    """Label the campaign's pairs with the configured chat judge ``annotator`` (see
    ``routing.services.judge_targets`` for ``scope``); resumable. The result names the label
    identity (``model``, ``version``)."""
    from routing.services import judge_targets

    name = annotator
    config = chat_config_for(name)
    task = judge_task_for(schema=campaign_schema(campaign), guidelines=campaign.guidelines_markdown)
    if task is None:
        raise JobFailed(
            "A chat judge answers the overall pairwise preference, per-aspect preferences or "
            "per-response ratings, and this campaign's task asks none of them: nothing was labelled."
        )
    version = prompt_version(task, config.prompt_version)
    model_name = f"{config.name}/{config.model}"
    already = Annotation.objects.filter(
        campaign=campaign,
        source=AnnotationSource.LLM,
        model_name=model_name,
        prompt_version=version,
    ).values("instance_id")
    # Re-running after a crash resumes: instances this annotator (model and prompt version)
    # already labelled are skipped, and the answers it already received come from the cache.
    candidates = judge_targets(campaign=campaign, scope=scope, already=already)
    targets = [instance for instance in candidates if len(instance.responses.all()) == 2]
    not_pairs = len(candidates) - len(targets)
    external_id = {instance.pk: instance.external_id for instance in targets}
    total = len(targets)
    cache = DirectoryCache(settings.LLM_CACHE_DIR) if settings.LLM_CACHE_DIR else None
    progress(0, total, f"Judging {total} instances with {name}, each in both orders")

    created, inconsistent = 0, 0
    usage = Usage()
    failures: list[PairFailure] = []
    chunk = max(CHUNK_SIZE, 4 * config.max_concurrency)
    for start in range(0, total, chunk):
        batch = targets[start : start + chunk]
        pairs = []
        for instance in batch:
            first, second = sorted(instance.responses.all(), key=lambda r: r.position)
            pairs.append(
                ChatPair(
                    instance.pk,
                    messages=instance.messages,
                    response_a=first.text,
                    response_b=second.text,
                )
            )
        try:
            run = judge_pairs(
                config,
                task,
                pairs,
                cache,
                progress=lambda done, _total, start=start: progress(
                    start + done, total, f"Judged {start + done} of {total} with {name}"
                ),
            )
        except EndpointRefused as exc:
            raise JobFailed(
                f"{name}: {exc} ({created} labels were recorded before it refused)."
            ) from None
        labels = [
            _label(verdict=v, config=config, model_name=model_name, version=version)
            for v in run.results
        ]
        created += record_llm_annotations(campaign=campaign, labels=labels, job=job)
        usage += run.usage
        failures += run.failures
        inconsistent += sum(1 for v in run.results if v.order_consistent is False)
        progress(start + len(batch), total, f"Judged {start + len(batch)} of {total} with {name}")

    listed = [f"{external_id[f.item_id]}: {f.reason}" for f in failures[:FAILURES_LISTED]]
    if total and len(failures) == total:
        raise JobFailed(
            f"{name} gave no usable verdict for any of the {total} instances "
            f"({usage.requests} requests, ${usage.cost_usd:.4f}); nothing was labelled. First: {listed[0]}",
            details=[
                {"line": external_id[f.item_id], "field": "instance", "message": f.reason}
                for f in failures[:50]
            ],
        )
    result = {
        "judged": total,
        "created": created,
        "failed": len(failures),
        "order_inconsistent": inconsistent,
        "model": model_name,
        "version": version,
        **usage.as_dict(),
    }
    if failures:
        result["failures"] = listed
    if not_pairs:
        result["skipped_not_a_pair"] = not_pairs
    return result
