"""Routing a campaign: the "Route campaign" job, its decisions and the jury labels.

``start_routing_job`` queues a JobRun; ``run_routing_job`` (a Celery task on the ``llm`` queue)

1. has every chosen LLM annotator judge every pair of the campaign (both orders for chat judges;
   what each already labelled is skipped), the seed included: the jury's verdicts on the items
   humans labelled are how its reliability is measured;
2. reads the LLM-side verdicts and the human labels given so far (every instance with a human
   label is paid from the budget and counts as read), computes and stores each instance's
   features and tags with their version;
3. keeps the campaign's seed (``routing.routing_seed``: random items humans label first; the
   judges' weights for the jury label are fitted on the seed's human labels only), scores every
   item with ``routing.core.error_model`` (with a jury: the chance that the jury label it would
   ship with is wrong; or the jury rule, or at random) and keeps human the seed and the items
   already labelled or in progress; fills the rest of the budget with the highest-value items; stores one ``RoutingDecision`` per instance with its expected gain and
   the signals behind it, the predicted agreement-vs-budget curve, the split by tag and each
   judge's agreement with the humans;
4. routes the queue (human items get priority by rank, LLM items leave the human queue) and
   queues a job on the ``llm`` queue that gives the LLM-routed items their reliability-weighted
   jury label (``label_with_jury``).

Re-routing (a second run) refits on the human labels that came in since and records a new run
that supersedes the last one.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from annotate.aggregation import JURY_MODEL_NAME, Vote, aggregate_pairwise_votes
from annotate.judgements import PairwiseJudgement
from annotate.models import (
    Annotation,
    AnnotationSource,
    Campaign,
    Instance,
    JobKind,
    JobRun,
    JobStatus,
    QueueItem,
)
from annotate.models import Route as QueueRoute
from annotate.services.annotations import LLMPairwiseLabel, record_llm_annotations
from annotate.services.jobs import JobFailed, JobProgress, create_job, enqueue_job, run_claimed_job
from routing.core.datasets import LABEL_A, LABEL_B, LABEL_TIE, NO_LABEL
from routing.core.error_model import (
    ERROR_MODEL_VERSION,
    ErrorScores,
    LLMSideView,
    score_jury_label_errors,
    score_llm_errors,
)
from routing.core.jury import (
    EVEN_EVIDENCE,
    JURY_VERSION,
    KEPT_JURY,
    KEPT_MAIN,
    JudgeReliability,
    KeptLabel,
    choose_kept_label,
    fit_judge_reliability,
    jury_posterior,
    jury_rule_order,
)
from routing.models import InstanceFeatures, Route, RoutingDecision, RoutingRun, RoutingStrategy
from routing.routing_seed import choose_seed, default_seed_size

ROUTE_TASK = "routing.llm.route_campaign"
JURY_TASK = "routing.llm.label_with_jury"
LLM_QUEUE = "llm"
LOCAL_JUDGE = "local-judge"
CURVE_POINTS = 21
DECISION_BATCH = 1000


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


def run_routing_job(*, job_id: int) -> None:
    run_claimed_job(job_id=job_id, work=_route_campaign)


def _code(preference: int | None) -> int:
    if preference is None:
        return NO_LABEL
    return LABEL_A if preference < 0 else LABEL_B if preference > 0 else LABEL_TIE


def _label_with(*, name: str, campaign: Campaign, job: JobRun, progress: JobProgress) -> dict:
    from routing.http_judge import label_campaign_with_http_judge
    from routing.services import label_campaign_with_local_judge

    if name == LOCAL_JUDGE:
        return label_campaign_with_local_judge(
            campaign=campaign, job=job, progress=progress, scope="all"
        )
    return label_campaign_with_http_judge(
        campaign=campaign, job=job, progress=progress, annotator=name, scope="all"
    )


@dataclass
class _CampaignState:
    pairs: list[Instance]
    votes: np.ndarray  # int8 (n, judges)
    human: np.ndarray  # int8 (n,), NO_LABEL where no human label yet
    labelled: np.ndarray  # bool (n,): a human label exists
    in_progress: np.ndarray  # bool (n,): a human slot is taken (lease or submission)


def _read_state(*, campaign: Campaign, identities: dict[str, tuple[str, str]]) -> _CampaignState:
    instances = list(
        Instance.objects.filter(campaign=campaign).prefetch_related("responses").order_by("id")
    )
    pairs = [instance for instance in instances if len(instance.responses.all()) == 2]
    position = {instance.pk: k for k, instance in enumerate(pairs)}
    votes = _votes_for(campaign=campaign, instance_ids=[i.pk for i in pairs], identities=identities)
    human_votes: dict[int, list[Vote]] = defaultdict(list)
    for instance_id, annotator_id, preference in Annotation.objects.filter(
        campaign=campaign, source=AnnotationSource.HUMAN, overall_preference__isnull=False
    ).values_list("instance_id", "annotator_id", "overall_preference"):
        human_votes[instance_id].append(
            Vote(source="human", overall_preference=preference, who=str(annotator_id))
        )
    human = np.full(len(pairs), NO_LABEL, dtype=np.int8)
    labelled = np.zeros(len(pairs), dtype=bool)
    for instance_id, votes_here in human_votes.items():
        if instance_id not in position:
            continue
        aggregate = aggregate_pairwise_votes(votes_here)
        k = position[instance_id]
        labelled[k] = True
        winner = aggregate.winner
        human[k] = {"A": LABEL_A, "B": LABEL_B}.get(winner.value if winner else "", LABEL_TIE)
    taken = set(
        QueueItem.objects.filter(campaign=campaign, slots_taken__gt=0).values_list(
            "instance_id", flat=True
        )
    )
    in_progress = np.array([instance.pk in taken for instance in pairs], dtype=bool)
    return _CampaignState(
        pairs=pairs, votes=votes, human=human, labelled=labelled, in_progress=in_progress
    )


def _features(*, pairs: list[Instance], progress: JobProgress):
    """The routing feature table of the campaign's pairs (one pool) and their tags."""
    from models_rm.cache import CachedEncoder, EmbeddingCache
    from models_rm.encoders import SentenceEncoder
    from routing.core.features import build_feature_table
    from routing.core.tagger import tag_prompts

    encoder = CachedEncoder(
        SentenceEncoder(device=settings.MODELS_DEVICE), EmbeddingCache(settings.EMBEDDING_CACHE_DIR)
    )

    def embed(texts):
        return encoder.encode(list(texts))

    ids = [str(instance.pk) for instance in pairs]
    prompts = [_prompt_text(instance) for instance in pairs]
    responses = [sorted(instance.responses.all(), key=lambda r: r.position) for instance in pairs]
    progress(0, None, f"Computing features and tags of {len(pairs)} pairs")
    tags = tag_prompts(ids=ids, prompts=prompts, embed=embed)
    table = build_feature_table(
        ids=ids,
        prompts=prompts,
        responses_a=[r[0].text for r in responses],
        responses_b=[r[1].text for r in responses],
        embed=embed,
        tags=tags,
    )
    return table, tags


def _prompt_text(instance: Instance) -> str:
    users = [m.get("content", "") for m in instance.messages if m.get("role") == "user"]
    return users[-1] if users else ""


def _store_features(*, pairs: list[Instance], table, tags) -> None:
    from dataclasses import asdict

    rows = []
    for k, instance in enumerate(pairs):
        on = [name for name, value in zip(table.names, table.matrix[k], strict=True) if value]
        raw = {name: _finite(values[k]) for name, values in table.raw.items()}
        rows.append(
            InstanceFeatures(
                instance=instance,
                version=table.version,
                values={"on": on, "raw": raw},
                tags=[asdict(tags.tags[k])],
            )
        )
    InstanceFeatures.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["instance", "version"],
        update_fields=["values", "tags", "computed_at"],
        batch_size=DECISION_BATCH,
    )


def _finite(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def _scores(
    *,
    strategy: str,
    view: LLMSideView,
    state: _CampaignState,
    seed_labelled: np.ndarray,
    seed: int,
    kept: KeptLabel,
) -> tuple[np.ndarray, ErrorScores]:
    """Ranking of every pair (best first) and the error model's scores (always computed: the
    PM sees P(LLM wrong) whatever the strategy), for the label an LLM-routed item ships with
    (``kept``): the jury's, its judges weighted on the seed's labelled positions
    ``seed_labelled``, or the main judge's (also a main judge alone), scored on every human
    label."""
    labelled = np.flatnonzero(state.labelled)
    if len(view.jury_names) and kept.source == KEPT_JURY:
        scores = score_jury_label_errors(
            view=view,
            calibration=seed_labelled,
            labelled=labelled,
            human=state.human[labelled],
            rng_seed=seed,
        )
    else:
        scores = score_llm_errors(
            view=view, labelled=labelled, human=state.human[labelled], rng_seed=seed
        )
    rng = np.random.default_rng(seed)
    if strategy == RoutingStrategy.RANDOM:
        order = rng.permutation(view.n)
    elif strategy == RoutingStrategy.JURY_RULE:
        order = jury_rule_order(main=view.main, jury=view.jury, rng=rng)
    else:
        # Before any human label the reliabilities are unknown (every weight 0): the jury's
        # disagreement with the main judge breaks the ties in value.
        support = scores.signals.get("label.support", scores.signals.get("jury.support"))
        against = 1.0 - (np.full(view.n, 0.5) if support is None else support)
        order = np.lexsort((rng.random(view.n), -against, -scores.value))
    return order, scores


def _curve(
    *,
    scores: ErrorScores,
    order: np.ndarray,
    labelled: np.ndarray,
    human: np.ndarray,
    kept: np.ndarray,
):
    """Predicted composed-label agreement when the first k items of ``order`` go to humans:
    a human label counts as right, an LLM one with probability 1 − P(wrong); on items already
    labelled by humans, whether the label the LLM side would keep (``kept``) matches theirs."""
    n = len(order)
    if not n:
        return []
    right_llm = 1.0 - scores.p_llm_wrong
    known = labelled & ((human == LABEL_A) | (human == LABEL_B))
    right_llm = np.where(known, (kept == human).astype(float), right_llm)
    right_human = np.where(labelled, 1.0, scores.p_human_decisive)
    gain = (right_human - right_llm)[order]
    base = right_llm.sum()
    cumulative = np.concatenate([[0.0], np.cumsum(gain)])
    points = sorted({round(k * n / (CURVE_POINTS - 1)) for k in range(CURVE_POINTS)})
    return [[k / n, float((base + cumulative[k]) / n)] for k in points]


def _by_tag(*, tags, human_mask: np.ndarray, scores: ErrorScores) -> list[dict]:
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for k, row in enumerate(tags.tags):
        groups[("subject", row.subjects[0] if row.subjects else "none")].append(k)
        groups[("expertise", row.expertise)].append(k)
        groups[("complexity", row.complexity)].append(k)
    out = []
    for (family, value), members in sorted(groups.items()):
        index = np.array(members)
        out.append(
            {
                "family": family,
                "tag": value,
                "n": len(members),
                "human": int(human_mask[index].sum()),
                "p_llm_wrong_mean": float(scores.p_llm_wrong[index].mean()),
            }
        )
    return out


def _judge_agreement(*, names: list[str], votes: np.ndarray, human: np.ndarray) -> dict:
    decisive = (human == LABEL_A) | (human == LABEL_B)
    out = {}
    for j, name in enumerate(names):
        both = decisive & (votes[:, j] != NO_LABEL)
        out[name] = {
            "n": int(both.sum()),
            "agreement": float((votes[both, j] == human[both]).mean()) if both.any() else None,
            "undecided": int(
                (decisive & ((votes[:, j] == LABEL_TIE) | (votes[:, j] == NO_LABEL))).sum()
            ),
        }
    return out


def _route_campaign(job: JobRun, progress: JobProgress) -> dict:
    campaign = job.campaign
    params = job.params
    annotators = list(params["annotators"])
    strategy = params["strategy"]
    budget = int(params["budget"])
    identities: dict[str, tuple[str, str]] = {}
    labelling: dict[str, dict] = {}
    for name in annotators:
        progress(0, None, f"{name}: judging every pair (what it labelled before is kept)")
        result = _label_with(name=name, campaign=campaign, job=job, progress=progress)
        identities[name] = (result["model"], result["version"])
        labelling[name] = {k: v for k, v in result.items() if k not in ("failures",)}
    state = _read_state(campaign=campaign, identities=identities)
    if not state.pairs:
        raise JobFailed("The campaign has no pairwise instances to route.")
    table, tags = _features(pairs=state.pairs, progress=progress)
    _store_features(pairs=state.pairs, table=table, tags=tags)
    view = LLMSideView(
        main_name=annotators[0],
        main=state.votes[:, 0],
        jury_names=tuple(annotators[1:]),
        jury=state.votes[:, 1:],
        features=np.asarray(table.matrix, dtype=np.float64),
        feature_names=tuple(table.names),
    )
    previous = (
        RoutingRun.objects.filter(campaign=campaign, superseded_by__isnull=True)
        .order_by("-id")
        .first()
    )
    seed_positions = _seed_for(
        job=job, state=state, previous=previous, size=int(params.get("seed_size", 0))
    )
    is_seed = np.zeros(len(state.pairs), dtype=bool)
    is_seed[seed_positions] = True
    seed_labelled = np.flatnonzero(is_seed & state.labelled)
    names = list(annotators)
    # The judges' weights for the label LLM-routed items ship with: the seed's labels only.
    reliability = fit_judge_reliability(
        votes=state.votes[seed_labelled], names=names, human=state.human[seed_labelled]
    )
    # Which label LLM-routed items keep (the main judge's or the jury's) is chosen on the seed.
    kept_label = choose_kept_label(
        votes=state.votes, names=names, labelled=seed_labelled, human=state.human[seed_labelled]
    )
    kept = kept_label.codes
    progress(0, None, "Scoring every pair with the error model")
    order, scores = _scores(
        strategy=strategy,
        view=view,
        state=state,
        seed_labelled=seed_labelled,
        seed=job.pk,
        kept=kept_label,
    )
    fixed = state.labelled | state.in_progress | is_seed
    human_mask = fixed.copy()
    remaining = max(0, budget - int(fixed.sum()))
    ppm_details = None
    if strategy == RoutingStrategy.PPM:
        ppm_mask, ppm_details = _ppm_choice(
            state=state,
            view=view,
            table=table,
            fixed=fixed,
            budget=budget,
            seed=job.pk,
            progress=progress,
        )
        if ppm_mask is not None:
            human_mask, remaining = ppm_mask, 0
    for k in order:
        if remaining <= 0:
            break
        if not human_mask[k]:
            human_mask[k] = True
            remaining -= 1
    # Rank: paid items first (they are human whatever the model says), then the seed still to
    # label (its labels weigh the judges), then the model's order.
    paid = state.labelled | state.in_progress
    seed_to_label = np.flatnonzero(is_seed & ~paid)
    rank_order = np.concatenate(
        [
            np.flatnonzero(paid)[np.argsort(-scores.value[paid])],
            seed_to_label,
            [k for k in order if not fixed[k]],
        ]
    ).astype(np.int64)
    rank = np.empty(len(rank_order), dtype=np.int64)
    rank[rank_order.astype(np.int64)] = np.arange(1, len(rank_order) + 1)
    curve_order = np.concatenate(
        [np.flatnonzero(fixed), [k for k in order if not fixed[k]]]
    ).astype(np.int64)
    details = {
        **scores.details,
        "error_model_version": ERROR_MODEL_VERSION,
        "jury_version": JURY_VERSION,
        "reliability": reliability.as_dict(),
        "reliability_fitted_on": f"the {len(seed_labelled)} labelled seed items",
        "kept_label": {**kept_label.as_dict(), "main_annotator": annotators[0]},
        "seed": {
            "size": int(len(seed_positions)),
            "requested": int(params.get("seed_size", 0)),
            "labelled": int(len(seed_labelled)),
            "instance_ids": [state.pairs[k].pk for k in seed_positions.tolist()],
        },
        "labelling": labelling,
        "over_budget": int(max(0, int(fixed.sum()) - budget)),
        **({"ppm": ppm_details} if ppm_details is not None else {}),
    }
    with transaction.atomic():
        run = RoutingRun.objects.create(
            campaign=campaign,
            job=job,
            created_by=job.created_by,
            supersedes=previous,
            strategy=strategy,
            budget=budget,
            main_annotator=annotators[0],
            jury=annotators[1:],
            annotator_identities={name: list(identity) for name, identity in identities.items()},
            n_instances=len(state.pairs),
            n_human=int(human_mask.sum()),
            n_llm=int((~human_mask).sum()),
            human_labels_read=int(state.labelled.sum()),
            model_details=details,
            curve=_curve(
                scores=scores,
                order=curve_order,
                labelled=state.labelled,
                human=state.human,
                kept=kept,
            ),
            by_tag=_by_tag(tags=tags, human_mask=human_mask, scores=scores),
            judge_agreement=_judge_agreement(
                names=annotators, votes=state.votes, human=state.human
            ),
            feature_version=table.version,
        )
        RoutingDecision.objects.bulk_create(
            [
                RoutingDecision(
                    run=run,
                    instance=instance,
                    route=Route.HUMAN if human_mask[k] else Route.LLM,
                    rank=int(rank[k]),
                    expected_gain=float(scores.value[k]),
                    p_llm_wrong=float(scores.p_llm_wrong[k]),
                    p_human_decisive=float(scores.p_human_decisive[k]),
                    already_human=bool(fixed[k]),
                    top_signals=_reasons(scores=scores, k=k, is_seed=bool(is_seed[k])),
                )
                for k, instance in enumerate(state.pairs)
            ],
            batch_size=DECISION_BATCH,
        )
        _apply_to_queue(campaign=campaign, pairs=state.pairs, human_mask=human_mask, rank=rank)
        jury_job = None
        if (~human_mask).any():
            jury_job = create_job(
                kind=JobKind.LLM_ANNOTATION,
                campaign=campaign,
                created_by=job.created_by,
                params={"backend": "jury", "routing_run": run.pk},
            )
            enqueue_job(job=jury_job, task_name=JURY_TASK, queue=LLM_QUEUE)
    return {
        "routing_run": run.pk,
        "human": run.n_human,
        "llm": run.n_llm,
        "human_labels_read": run.human_labels_read,
        "jury_job": jury_job.pk if jury_job else None,
        "supersedes": previous.pk if previous else None,
    }


MIN_PPM_SEED = 20


def _seed_for(
    *, job: JobRun, state: _CampaignState, previous: RoutingRun | None, size: int
) -> np.ndarray:
    """The run's seed positions: the last run's seed kept (a run before seeds existed has
    none), topped up at random to ``size``."""
    previous_seed = None
    if previous is not None and "seed" in previous.model_details:
        ids = set(previous.model_details["seed"]["instance_ids"])
        previous_seed = np.array(
            [k for k, instance in enumerate(state.pairs) if instance.pk in ids], dtype=np.int64
        )
    return choose_seed(
        n=len(state.pairs),
        size=size,
        previous=previous_seed,
        labelled=state.labelled,
        rng=np.random.default_rng([job.pk, 29]),
    )


SEED_REASON = {
    "signal": "seed",
    "value": 1.0,
    "text": "a random seed item: the judges' weights are measured on its human label",
}


def _reasons(*, scores: ErrorScores, k: int, is_seed: bool) -> list[dict]:
    if not is_seed:
        return scores.top_signals(k)
    return [SEED_REASON, *scores.top_signals(k, limit=2)]


def _ppm_choice(
    *, state, view, table, fixed, budget, seed, progress
) -> tuple[np.ndarray | None, dict]:
    """The paper's PPM fitted on proxy runs inside the human-labelled items, and the greedy
    router's choice of the rest of the budget; ``None`` (the error model routes instead, and
    the details say why) when the labelled items are too few or the proxy shows no headroom
    there (its score does not rise with the share of human labels: a PPM would learn noise)."""
    from models_rm.cache import CachedEncoder, EmbeddingCache
    from models_rm.conversation import render_conversation
    from models_rm.encoders import SentenceEncoder
    from routing.core.simulation.honesty import PoolView
    from routing.core.simulation.seed_ppm import fit_seed_ppm, search_human_set

    labelled = np.flatnonzero(
        state.labelled & ((state.human == LABEL_A) | (state.human == LABEL_B))
    )
    if len(labelled) < MIN_PPM_SEED:
        return None, {
            "fitted": False,
            "reason": f"the PPM needs at least {MIN_PPM_SEED} decisive human labels to fit on; "
            f"{len(labelled)} so far: routed by the error model",
        }
    progress(0, None, "Fitting the PPM on proxy runs inside the human-labelled items")
    encoder = CachedEncoder(
        SentenceEncoder(device=settings.MODELS_DEVICE), EmbeddingCache(settings.EMBEDDING_CACHE_DIR)
    )
    texts = []
    for instance in state.pairs:
        first, second = sorted(instance.responses.all(), key=lambda r: r.position)
        texts += [
            render_conversation(instance.messages, r.text, max_context_messages=1)
            for r in (first, second)
        ]
    vectors = np.asarray(encoder.encode(texts), dtype=np.float32)
    pool = PoolView(
        ids=tuple(str(i.pk) for i in state.pairs),
        features=table,
        llm=view.main,
        emb_a=vectors[0::2],
        emb_b=vectors[1::2],
        budget=budget,
    )
    fitted = fit_seed_ppm(
        pool=pool,
        seed_indices=labelled,
        seed_labels=state.human[labelled],
        runs=48,
        kind="quadratic",
        l2=1.0,
        rng_seed=seed,
    )
    details = {"proxy_headroom": fitted.headroom, "proxy_headroom_se": fitted.headroom_se}
    if not fitted.has_headroom:
        return None, {
            **details,
            "fitted": False,
            "reason": "the proxy showed no headroom inside the human-labelled items (score vs "
            "human share slope not above twice its standard error): routed by the error model",
        }
    forced = np.flatnonzero(fixed)
    human, predicted = search_human_set(
        predictor=fitted.predictor,
        features=table,
        budget=max(budget, len(forced)),
        forced=forced,
        search="greedy",
        candidates=500,
        rng_seed=seed,
    )
    cv = fitted.predictor.cross_validation
    return human, {
        **details,
        "fitted": True,
        "predicted_score": predicted,
        "cv_spearman": cv.spearman,
    }


def _apply_to_queue(
    *, campaign: Campaign, pairs: list[Instance], human_mask: np.ndarray, rank: np.ndarray
) -> None:
    """Human items into the human queue, most valuable first; LLM items out of it (only ones no
    annotator has started: in-progress items are human by construction)."""
    items = {item.instance_id: item for item in QueueItem.objects.filter(campaign=campaign)}
    changed = []
    n = len(pairs)
    for k, instance in enumerate(pairs):
        item = items.get(instance.pk)
        if item is None:
            continue
        route = QueueRoute.HUMAN if human_mask[k] else QueueRoute.LLM
        if route == QueueRoute.LLM and item.slots_taken > 0:
            route = QueueRoute.HUMAN  # never take a started item away from its annotator
        priority = int(n - rank[k]) if route == QueueRoute.HUMAN else 0
        if item.route != route or item.priority != priority:
            item.route, item.priority = route, priority
            changed.append(item)
    QueueItem.objects.bulk_update(changed, ["route", "priority"], batch_size=DECISION_BATCH)


def run_jury_label_job(*, job_id: int) -> None:
    run_claimed_job(job_id=job_id, work=_label_with_jury)


def _label_with_jury(job: JobRun, progress: JobProgress) -> dict:
    """The label each LLM-routed item of the run keeps: the reliability-weighted jury label (its
    judges' weights come from the run's fit), or, where the run's seed chose the main judge
    (``model_details["kept_label"]``), the main judge's own label wherever it is decisive. Stored
    as the ``jury`` model's label either way (prompt version ``jury-v1`` or ``jury-v1/main``, the
    raw output says which and why); an item an earlier run labelled gets a new revision."""
    run = RoutingRun.objects.get(pk=job.params["routing_run"])
    campaign = run.campaign
    names = [run.main_annotator, *run.jury]
    identities = {name: tuple(run.annotator_identities[name]) for name in names}
    reliability_rows = run.model_details["reliability"]
    weights = np.array([reliability_rows[name]["weight"] for name in names], dtype=np.float64)
    weighting = "reliability"
    if not any(reliability_rows[name]["seen"] for name in names):
        # No judge has been measured against a human label yet: every judge counts the same
        # (a majority vote; one judge alone keeps its own direction) until humans have labelled.
        weights = np.ones(len(names))
        weighting = "equal (no human label to measure the judges on yet)"
    reliability = JudgeReliability(
        names=tuple(names),
        seen=np.array([reliability_rows[name]["seen"] for name in names]),
        matched=np.array([reliability_rows[name]["matched"] for name in names]),
        accuracy=np.array([reliability_rows[name]["accuracy"] for name in names]),
        weight=weights,
        prior=1.0,
    )
    decisions = list(run.decisions.filter(route=Route.LLM).values_list("instance_id", flat=True))
    state_votes = _votes_for(campaign=campaign, instance_ids=decisions, identities=identities)
    choice = run.model_details.get("kept_label") or {"source": KEPT_JURY}
    main_labels = {}
    if choice["source"] == KEPT_MAIN:
        model, version = identities[names[0]]
        main_labels = {
            instance_id: (preference, confidence)
            for instance_id, preference, confidence in Annotation.objects.filter(
                campaign=campaign,
                source=AnnotationSource.LLM,
                model_name=model,
                prompt_version=version,
                instance_id__in=decisions,
            ).values_list("instance_id", "overall_preference", "confidence")
        }
    total = len(decisions)
    progress(0, total, f"Jury labels for {total} LLM-routed items")
    existing = {
        a.instance_id: a
        for a in Annotation.objects.filter(
            campaign=campaign,
            source=AnnotationSource.LLM,
            model_name=JURY_MODEL_NAME,
            instance_id__in=decisions,
        )
    }
    labels, updated, ties = [], 0, 0
    for k, instance_id in enumerate(decisions):
        votes = state_votes[k : k + 1]
        prob_a = float(jury_posterior(votes=votes, reliability=reliability)[0])
        preference = _preference_from(prob_a)
        confidence = round(abs(2 * prob_a - 1), 4)
        version = JURY_VERSION
        justification = f"Reliability-weighted jury of {len(names)}: P(A preferred) = {prob_a:.3f}."
        raw = {
            "backend": "jury",
            "routing_run": run.pk,
            "kept": KEPT_JURY,
            "prob_a": round(prob_a, 6),
            "votes": {name: int(votes[0, j]) for j, name in enumerate(names)},
            "weights": {name: round(float(weights[j]), 6) for j, name in enumerate(names)},
            "weighting": weighting,
        }
        if instance_id in main_labels and votes[0, 0] in (LABEL_A, LABEL_B):
            preference, main_confidence = main_labels[instance_id]
            confidence = main_confidence
            version = f"{JURY_VERSION}/main"
            justification = (
                f"The main judge {names[0]}'s own label, kept because on the seed it matched "
                f"{_share(choice['main_agreement'])} of the human labels and the jury "
                f"{_share(choice['jury_agreement'])}."
            )
            raw.update({"kept": KEPT_MAIN, "kept_from": names[0]})
        raw["justification"] = justification  # also on a revision, which rewrites raw_output
        ties += preference == 0
        current = existing.get(instance_id)
        if current is None:
            labels.append(
                LLMPairwiseLabel(
                    instance_id=instance_id,
                    model_name=JURY_MODEL_NAME,
                    prompt_version=version,
                    judgement=PairwiseJudgement(
                        overall_preference=preference,
                        confidence=confidence,
                        justification=justification,
                    ),
                    raw_output=raw,
                )
            )
        elif (
            current.overall_preference != preference
            or current.raw_output.get("routing_run") != run.pk
            or current.prompt_version != version
        ):
            # A re-route refits the weights: the jury label is revised, and the revision counted.
            Annotation.objects.filter(pk=current.pk).update(
                overall_preference=preference,
                prompt_version=version,
                confidence=confidence,
                raw_output={
                    **raw,
                    "previous": {
                        "routing_run": current.raw_output.get("routing_run"),
                        "overall_preference": current.overall_preference,
                    },
                },
                revision=current.revision + 1,
                updated_at=timezone.now(),
                job=job,
            )
            updated += 1
        progress(k + 1, total)
    created = record_llm_annotations(campaign=campaign, labels=labels, job=job)
    return {
        "routing_run": run.pk,
        "created": created,
        "revised": updated,
        "ties": ties,
        "labelled": total,
        "weighting": weighting,
    }


def _share(value: float | None) -> str:
    return "no" if value is None else f"{value:.0%}"


def _preference_from(prob_a: float) -> int:
    """The 5-point strength of a jury label: "clearly" when the posterior is at least 0.9 for
    one side, "slightly" above 0.5, a tie at 0.5 (no evidence either way, or evidence that
    cancels out up to float error, as ``jury_labels`` has it)."""
    if abs(prob_a - 0.5) <= EVEN_EVIDENCE:
        return 0
    if prob_a >= 0.9:
        return -2
    if prob_a > 0.5:
        return -1
    if prob_a <= 0.1:
        return 2
    return 1


def _votes_for(
    *, campaign: Campaign, instance_ids: list[int], identities: dict[str, tuple[str, str]]
) -> np.ndarray:
    """The judges' verdict codes on ``instance_ids`` (rows) by annotator (columns, in the
    order of ``identities``); ``NO_LABEL`` where a judge has no label. One query over the
    campaign's LLM labels of those judges (no id list sent to the database)."""
    position = {pk: k for k, pk in enumerate(instance_ids)}
    column = {identity: j for j, identity in enumerate(identities.values())}
    votes = np.full((len(instance_ids), len(identities)), NO_LABEL, dtype=np.int8)
    rows = Annotation.objects.filter(
        campaign=campaign,
        source=AnnotationSource.LLM,
        model_name__in={m for m, _ in identities.values()},
    ).values_list("instance_id", "model_name", "prompt_version", "overall_preference")
    for instance_id, model, version, preference in rows.iterator(chunk_size=5000):
        j, k = column.get((model, version)), position.get(instance_id)
        if j is not None and k is not None:
            votes[k, j] = _code(preference)
    return votes


def latest_routing_run(*, campaign: Campaign) -> RoutingRun | None:
    return RoutingRun.objects.filter(campaign=campaign).order_by("-id").first()


def decision_counts(run: RoutingRun) -> Counter:
    return Counter(run.decisions.values_list("route", flat=True))
