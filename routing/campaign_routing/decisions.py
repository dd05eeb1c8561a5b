"""Scoring and explaining a routing run: the ranking, the predicted agreement-vs-budget curve,
the split by tag, judge agreement, the seed, the reasons shown to the PM and the PPM path."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from django.conf import settings

from annotate.models import (
    JobRun,
)
from routing.campaign_routing.names import CURVE_POINTS
from routing.campaign_routing.state import CampaignState
from routing.core.datasets import LABEL_A, LABEL_B, LABEL_TIE, NO_LABEL
from routing.core.error_model import (
    ErrorScores,
    LLMSideView,
    score_jury_label_errors,
    score_llm_errors,
)
from routing.core.jury import (
    KEPT_JURY,
    KeptLabel,
    jury_rule_order,
)
from routing.models import RoutingRun, RoutingStrategy
from routing.routing_seed import choose_seed


def rank_and_score(
    *,
    strategy: str,
    view: LLMSideView,
    state: CampaignState,
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


def agreement_curve(
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


def split_by_tag(*, tags, human_mask: np.ndarray, scores: ErrorScores) -> list[dict]:
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


def judge_agreement_with_humans(*, names: list[str], votes: np.ndarray, human: np.ndarray) -> dict:
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


MIN_PPM_SEED = 20


def seed_positions_for(
    *, job: JobRun, state: CampaignState, previous: RoutingRun | None, size: int
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


def reasons_for(*, scores: ErrorScores, k: int, is_seed: bool) -> list[dict]:
    if not is_seed:
        return scores.top_signals(k)
    return [SEED_REASON, *scores.top_signals(k, limit=2)]


def ppm_choice(
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
