"""The "Route campaign" job: judge, read, score, decide, store the decisions and route the queue."""

from __future__ import annotations

import numpy as np
from django.db import transaction

from annotate.models import (
    Campaign,
    Instance,
    JobKind,
    JobRun,
    QueueItem,
)
from annotate.models import Route as QueueRoute
from annotate.services.jobs import JobFailed, JobProgress, create_job, enqueue_job, run_claimed_job
from routing.campaign_routing.decisions import (
    agreement_curve,
    judge_agreement_with_humans,
    ppm_choice,
    rank_and_score,
    reasons_for,
    seed_positions_for,
    split_by_tag,
)
from routing.campaign_routing.names import DECISION_BATCH, JURY_TASK, LLM_QUEUE
from routing.campaign_routing.state import (
    label_with_annotator,
    pair_features,
    read_state,
    store_features,
)
from routing.core.error_model import (
    ERROR_MODEL_VERSION,
    LLMSideView,
)
from routing.core.jury import (
    JURY_VERSION,
    choose_kept_label,
    fit_judge_reliability,
)
from routing.models import Route, RoutingDecision, RoutingRun, RoutingStrategy


def run_routing_job(*, job_id: int) -> None:
    run_claimed_job(job_id=job_id, work=_route_campaign)


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
        result = label_with_annotator(name=name, campaign=campaign, job=job, progress=progress)
        identities[name] = (result["model"], result["version"])
        labelling[name] = {k: v for k, v in result.items() if k not in ("failures",)}
    state = read_state(campaign=campaign, identities=identities)
    if not state.pairs:
        raise JobFailed("The campaign has no pairwise instances to route.")
    table, tags = pair_features(pairs=state.pairs, progress=progress)
    store_features(pairs=state.pairs, table=table, tags=tags)
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
    seed_positions = seed_positions_for(
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
    order, scores = rank_and_score(
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
        ppm_mask, ppm_details = ppm_choice(
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
            curve=agreement_curve(
                scores=scores,
                order=curve_order,
                labelled=state.labelled,
                human=state.human,
                kept=kept,
            ),
            by_tag=split_by_tag(tags=tags, human_mask=human_mask, scores=scores),
            judge_agreement=judge_agreement_with_humans(
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
                    top_signals=reasons_for(scores=scores, k=k, is_seed=bool(is_seed[k])),
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
