"""Reads of labels: each instance with its votes or its annotations (the one ``AnnotationView``
builder, shared with the exports and the data browser) and the pseudonyms annotators are
exported under."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Prefetch, Q

from annotate.aggregation import Vote
from annotate.models import (
    Annotation,
    AnnotationSource,
    AnswerValue,
    Campaign,
    Instance,
    QueueItemKind,
    Response,
)


def pseudonym_of(*, campaign_id: int, user_id: int) -> str:
    """The exported id of annotator ``user_id`` in campaign ``campaign_id``: ``ann-<12 hex>``,
    a keyed hash (``settings.PSEUDONYM_KEY``) so that it is stable within a campaign, differs
    between campaigns, and neither reveals nor orders the user id."""
    message = f"{campaign_id}:{user_id}".encode()
    digest = hmac.new(settings.PSEUDONYM_KEY.encode(), message, hashlib.sha256).hexdigest()
    return f"ann-{digest[:12]}"


@dataclass(frozen=True)
class ResponseView:
    position: int
    model_name: str
    text: str


@dataclass(frozen=True)
class InstanceWithVotes:
    instance_id: int
    external_id: str
    messages: list
    metadata: dict
    responses: list[ResponseView]
    votes: list[Vote]


@dataclass(frozen=True)
class LabelFilter:
    """Which labels count: by source (``human`` / ``imported`` / ``llm``), annotator pool
    (``""`` = the default pool) and creation time (``created_from`` inclusive,
    ``created_to`` exclusive). Empty tuples and None mean no restriction."""

    sources: tuple[str, ...] = ()
    pools: tuple[str, ...] = ()
    created_from: datetime | None = None
    created_to: datetime | None = None

    def as_q(self) -> Q:
        q = Q()
        if self.sources:
            q &= Q(source__in=self.sources)
        if self.pools:
            q &= Q(pool__in=self.pools)
        if self.created_from is not None:
            q &= Q(created_at__gte=self.created_from)
        if self.created_to is not None:
            q &= Q(created_at__lt=self.created_to)
        return q


def response_views(instance: Instance) -> list[ResponseView]:
    """The instance's prefetched responses, in position order, as read-only views."""
    return [ResponseView(r.position, r.model_name, r.text) for r in instance.responses.all()]


def iter_instances_with_votes(
    *,
    campaign: Campaign,
    chunk_size: int = 500,
    labels: LabelFilter | None = None,
    regular_only: bool = False,
) -> Iterator[InstanceWithVotes]:
    """Every instance of the campaign with its responses and pairwise votes, streamed.

    Each vote carries the guidelines version its label was made under, not the campaign's.
    ``labels`` keeps only the votes it admits (the instances stay, perhaps without votes).
    ``regular_only`` leaves out check items (gold, attention, qualification).
    """
    votes_qs = (
        Annotation.objects.filter(overall_preference__isnull=False)
        .filter((labels or LabelFilter()).as_q())
        .select_related("guidelines")
        .only(
            "instance_id",
            "campaign_id",
            "source",
            "overall_preference",
            "annotator_id",
            "external_annotator",
            "model_name",
            "prompt_version",
            "pool",
            "guidelines__version",
        )
    )
    instances = Instance.objects.filter(campaign=campaign)
    if regular_only:
        instances = instances.filter(queue_item__kind=QueueItemKind.REGULAR)
    instances = instances.order_by("id").prefetch_related(
        Prefetch("responses", queryset=Response.objects.order_by("position")),
        Prefetch("annotations", queryset=votes_qs),
    )
    for instance in instances.iterator(chunk_size=chunk_size):
        votes = [
            Vote(
                source=a.source,
                overall_preference=a.overall_preference,
                who=_who(a),
                guidelines_version=a.guidelines.version if a.guidelines_id else None,
                pool=a.pool,
            )
            for a in instance.annotations.all()
        ]
        yield InstanceWithVotes(
            instance_id=instance.pk,
            external_id=instance.external_id,
            messages=instance.messages,
            metadata=instance.metadata,
            responses=response_views(instance),
            votes=votes,
        )


@dataclass(frozen=True)
class AnswerView:
    question: str  # the question's key
    response_position: int | None  # None for a question about the pair
    option: str | None  # the chosen option's code; None for a text answer
    value: int | None
    text: str


@dataclass(frozen=True)
class AnnotationView:
    annotation_id: int
    source: str
    who: str  # pseudonym, ``imported:<id>`` or ``model@prompt_version``
    external_annotator: str
    pool: str
    model_name: str
    prompt_version: str
    guidelines_version: int | None
    task_schema_version: int | None
    overall_preference: int | None
    confidence: float | None
    time_spent_seconds: float | None
    created_at: datetime
    revision: int
    answers: tuple[AnswerView, ...]

    def vote(self) -> Vote | None:
        if self.overall_preference is None:
            return None
        return Vote(
            source=self.source,
            overall_preference=self.overall_preference,
            who=self.who,
            guidelines_version=self.guidelines_version,
            pool=self.pool,
        )


@dataclass(frozen=True)
class InstanceWithAnnotations:
    instance_id: int
    external_id: str
    messages: list
    metadata: dict
    responses: list[ResponseView]
    annotations: list[AnnotationView]

    @property
    def votes(self) -> list[Vote]:
        return [vote for a in self.annotations if (vote := a.vote()) is not None]


def iter_instances_with_annotations(
    *, campaign: Campaign, chunk_size: int = 200, labels: LabelFilter | None = None
) -> Iterator[InstanceWithAnnotations]:
    """Every instance of the campaign with its responses and every label ``labels`` admits
    (human, imported and LLM, with all their answers), streamed in ``chunk_size`` instances."""
    answers = AnswerValue.objects.select_related("question", "option").order_by(
        "question__order", "response_position", "id"
    )
    annotations = (
        Annotation.objects.filter((labels or LabelFilter()).as_q())
        .select_related("guidelines", "task_schema")
        .prefetch_related(Prefetch("answers", queryset=answers))
        .order_by("id")
    )
    instances = (
        Instance.objects.filter(campaign=campaign)
        .order_by("id")
        .prefetch_related(
            Prefetch("responses", queryset=Response.objects.order_by("position")),
            Prefetch("annotations", queryset=annotations),
        )
    )
    for instance in instances.iterator(chunk_size=chunk_size):
        yield InstanceWithAnnotations(
            instance_id=instance.pk,
            external_id=instance.external_id,
            messages=instance.messages,
            metadata=instance.metadata,
            responses=response_views(instance),
            annotations=[_annotation_view(a) for a in instance.annotations.all()],
        )


def _annotation_view(a: Annotation) -> AnnotationView:
    return AnnotationView(
        annotation_id=a.pk,
        source=a.source,
        who=_who(a),
        external_annotator=a.external_annotator,
        pool=a.pool,
        model_name=a.model_name,
        prompt_version=a.prompt_version,
        guidelines_version=a.guidelines.version if a.guidelines_id else None,
        task_schema_version=a.task_schema.version if a.task_schema_id else None,
        overall_preference=a.overall_preference,
        confidence=a.confidence,
        time_spent_seconds=a.time_spent_seconds,
        created_at=a.created_at,
        revision=a.revision,
        answers=tuple(
            AnswerView(
                question=v.question.key,
                response_position=v.response_position,
                option=v.option.code if v.option_id else None,
                value=v.value,
                text=v.text,
            )
            for v in a.answers.all()
        ),
    )


def _who(annotation: Annotation) -> str:
    if annotation.source == AnnotationSource.HUMAN:
        return pseudonym_of(campaign_id=annotation.campaign_id, user_id=annotation.annotator_id)
    if annotation.source == AnnotationSource.IMPORTED:
        return f"imported:{annotation.external_annotator}"
    if annotation.prompt_version:
        return f"{annotation.model_name}@{annotation.prompt_version}"
    return annotation.model_name
