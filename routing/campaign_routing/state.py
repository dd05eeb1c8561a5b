"""What a routing run reads: every judge's verdicts (judging what is missing), the human labels
so far, and each pair's features and tags (stored with their version)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from annotate.aggregation import Vote, aggregate_pairwise_votes
from annotate.models import (
    Annotation,
    AnnotationSource,
    Campaign,
    Instance,
    JobRun,
    QueueItem,
)
from annotate.services.jobs import JobProgress
from routing.campaign_routing.names import DECISION_BATCH, LOCAL_JUDGE
from routing.core.datasets import LABEL_A, LABEL_B, LABEL_TIE, NO_LABEL
from routing.models import InstanceFeatures


def finite_or_none(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def verdict_code(preference: int | None) -> int:
    if preference is None:
        return NO_LABEL
    return LABEL_A if preference < 0 else LABEL_B if preference > 0 else LABEL_TIE


def label_with_annotator(
    *, name: str, campaign: Campaign, job: JobRun, progress: JobProgress
) -> dict:
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
class CampaignState:
    pairs: list[Instance]
    votes: np.ndarray  # int8 (n, judges)
    human: np.ndarray  # int8 (n,), NO_LABEL where no human label yet
    labelled: np.ndarray  # bool (n,): a human label exists
    in_progress: np.ndarray  # bool (n,): a human slot is taken (lease or submission)


def read_state(*, campaign: Campaign, identities: dict[str, tuple[str, str]]) -> CampaignState:
    instances = list(
        Instance.objects.filter(campaign=campaign).prefetch_related("responses").order_by("id")
    )
    pairs = [instance for instance in instances if len(instance.responses.all()) == 2]
    position = {instance.pk: k for k, instance in enumerate(pairs)}
    votes = votes_for(campaign=campaign, instance_ids=[i.pk for i in pairs], identities=identities)
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
    return CampaignState(
        pairs=pairs, votes=votes, human=human, labelled=labelled, in_progress=in_progress
    )


def pair_features(*, pairs: list[Instance], progress: JobProgress):
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


def store_features(*, pairs: list[Instance], table, tags) -> None:
    from dataclasses import asdict

    rows = []
    for k, instance in enumerate(pairs):
        on = [name for name, value in zip(table.names, table.matrix[k], strict=True) if value]
        raw = {name: finite_or_none(values[k]) for name, values in table.raw.items()}
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


def votes_for(
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
            votes[k, j] = verdict_code(preference)
    return votes
