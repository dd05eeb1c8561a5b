"""Reads. The visibility rules live here and nowhere else."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from annotate.aggregation import Vote
from annotate.models import (
    Annotation,
    AnnotationSource,
    AssignmentStatus,
    Campaign,
    CampaignRole,
    Instance,
    JobRun,
    Response,
)


def campaigns_visible_to(user) -> QuerySet[Campaign]:
    if not user.is_authenticated:
        return Campaign.objects.none()
    if user.is_superuser:
        return Campaign.objects.all()
    return Campaign.objects.filter(memberships__user=user).distinct()


def roles_in_campaign(*, user, campaign: Campaign) -> set[str]:
    if not user.is_authenticated:
        return set()
    roles = set(campaign.memberships.filter(user=user).values_list("role", flat=True))
    if user.is_superuser:
        roles |= {CampaignRole.PROJECT_MANAGER, CampaignRole.RESEARCHER}
    return roles


def pseudonym_of(user_id: int | None) -> str:
    return f"annotator-{user_id}"


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


def iter_instances_with_votes(*, campaign: Campaign, chunk_size: int = 500) -> Iterator[InstanceWithVotes]:
    """Every instance of the campaign with its responses and pairwise votes, streamed.

    Each vote carries the guidelines version its label was made under, not the campaign's.
    """
    votes_qs = Annotation.objects.filter(overall_preference__isnull=False).only(
        "instance_id",
        "source",
        "overall_preference",
        "annotator_id",
        "model_name",
        "prompt_version",
        "guidelines_version",
    )
    instances = (
        Instance.objects.filter(campaign=campaign)
        .order_by("id")
        .prefetch_related(
            Prefetch("responses", queryset=Response.objects.order_by("position")),
            Prefetch("annotations", queryset=votes_qs),
        )
    )
    for instance in instances.iterator(chunk_size=chunk_size):
        votes = [
            Vote(
                source=a.source,
                overall_preference=a.overall_preference,
                who=pseudonym_of(a.annotator_id)
                if a.source == AnnotationSource.HUMAN
                else f"{a.model_name}@{a.prompt_version}" if a.prompt_version else a.model_name,
                guidelines_version=a.guidelines_version,
            )
            for a in instance.annotations.all()
        ]
        yield InstanceWithVotes(
            instance_id=instance.pk,
            external_id=instance.external_id,
            messages=instance.messages,
            metadata=instance.metadata,
            responses=[ResponseView(r.position, r.model_name, r.text) for r in instance.responses.all()],
            votes=votes,
        )


@dataclass(frozen=True)
class CampaignProgress:
    instances: int
    human_labelled: int  # instances with at least one human label
    human_complete: int  # instances with as many human labels as the overlap asks
    llm_labelled: int  # instances with at least one LLM label
    labelled: int  # instances with any label
    human_annotations: int
    llm_annotations: int
    open_leases: int


def get_campaign_progress(*, campaign: Campaign) -> CampaignProgress:
    instances = Instance.objects.filter(campaign=campaign)
    human_of = Annotation.objects.filter(instance=OuterRef("pk"), source=AnnotationSource.HUMAN)
    llm_of = Annotation.objects.filter(instance=OuterRef("pk"), source=AnnotationSource.LLM)
    annotation_counts = Annotation.objects.filter(campaign=campaign).aggregate(
        human=Count("id", filter=Q(source=AnnotationSource.HUMAN)),
        llm=Count("id", filter=Q(source=AnnotationSource.LLM)),
    )
    return CampaignProgress(
        instances=instances.count(),
        human_labelled=instances.filter(Exists(human_of)).count(),
        human_complete=instances.annotate(
            n_human=Count("annotations", filter=Q(annotations__source=AnnotationSource.HUMAN))
        )
        .filter(n_human__gte=campaign.overlap)
        .count(),
        llm_labelled=instances.filter(Exists(llm_of)).count(),
        labelled=instances.filter(Exists(human_of) | Exists(llm_of)).count(),
        human_annotations=annotation_counts["human"],
        llm_annotations=annotation_counts["llm"],
        open_leases=campaign.assignments.filter(status=AssignmentStatus.LEASED).count(),
    )


def count_submitted_by(*, campaign: Campaign, annotator) -> int:
    return campaign.assignments.filter(
        annotator=annotator, status=AssignmentStatus.SUBMITTED
    ).count()


def instances_without_human_labels(*, campaign: Campaign) -> QuerySet[Instance]:
    """Instances no human has labelled and no annotator holds a live lease on."""
    return (
        Instance.objects.filter(campaign=campaign)
        .exclude(annotations__source=AnnotationSource.HUMAN)
        .exclude(assignments__status=AssignmentStatus.LEASED)
        .order_by("id")
    )


def recent_jobs(*, campaign: Campaign, limit: int = 10) -> QuerySet[JobRun]:
    return campaign.jobs.order_by("-created_at")[:limit]
