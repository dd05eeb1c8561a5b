"""Recording labels: human submissions (exactly once) and LLM annotations (idempotent)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from annotate.judgements import PairwiseJudgement
from annotate.models import (
    PREFERENCE_MAX,
    PREFERENCE_MIN,
    Annotation,
    AnnotationSource,
    Assignment,
    AssignmentStatus,
    Campaign,
    CampaignStatus,
    Instance,
    JobRun,
)


class SubmissionRejected(Exception):
    """The submission cannot be recorded; the message says why, for the annotator."""


@dataclass(frozen=True)
class SubmissionOutcome:
    annotation: Annotation
    created: bool  # False when this was a repeat of an already counted submission
    changed: bool = False  # a repeat with a different answer: the stored label was updated


# A submitted answer can still be changed by its annotator while the campaign is open.
_EDITABLE_CAMPAIGN_STATUSES = {CampaignStatus.ACTIVE, CampaignStatus.PAUSED, CampaignStatus.DRAFT}


def validate_pairwise_judgement(*, campaign: Campaign, judgement: PairwiseJudgement) -> None:
    """Raise SubmissionRejected naming the first field that breaks the campaign's rules."""
    if not campaign.asks_pairwise:
        raise SubmissionRejected("This campaign does not ask for pairwise preferences.")
    if judgement.overall_preference not in range(PREFERENCE_MIN, PREFERENCE_MAX + 1):
        raise SubmissionRejected(
            f"overall preference must be between {PREFERENCE_MIN} and {PREFERENCE_MAX}."
        )
    unknown = set(judgement.aspect_preferences) - set(campaign.pairwise_aspects)
    if unknown:
        raise SubmissionRejected(f"unknown aspect(s): {', '.join(sorted(unknown))}.")
    for aspect, value in judgement.aspect_preferences.items():
        if value not in range(PREFERENCE_MIN, PREFERENCE_MAX + 1):
            raise SubmissionRejected(
                f"{aspect} preference must be between {PREFERENCE_MIN} and {PREFERENCE_MAX}."
            )
    if campaign.require_justification and not judgement.justification.strip():
        raise SubmissionRejected("A justification is required for this campaign.")
    if judgement.confidence is not None and not 0.0 <= judgement.confidence <= 1.0:
        raise SubmissionRejected("confidence must be between 0 and 1.")


def submit_pairwise_annotation(
    *,
    assignment_id: int,
    annotator,
    judgement: PairwiseJudgement,
    now: datetime | None = None,
) -> SubmissionOutcome:
    """Record the annotator's judgement for their assignment; a repeat counts once.

    Accepted while the assignment is LEASED, even past its expiry, unless another claim
    has already taken the slot (then the lease is EXPIRED and the submission is refused
    with a message, never silently dropped). A repeat of a SUBMITTED assignment with the
    same answer changes nothing; with a different answer (the annotator went Back and
    changed it) it updates the one stored label, while the campaign is open.
    """
    now = now or timezone.now()
    assignment = (
        Assignment.objects.select_related("campaign", "instance")
        .filter(pk=assignment_id, annotator=annotator)
        .first()
    )
    if assignment is None:
        raise SubmissionRejected("This item is not assigned to you.")
    validate_pairwise_judgement(campaign=assignment.campaign, judgement=judgement)
    try:
        # One transaction: the status flip and the annotation row commit together or not at all.
        with transaction.atomic():
            # Conditional UPDATE: of two concurrent submits, exactly one sees rowcount 1.
            flipped = Assignment.objects.filter(
                pk=assignment.pk, status=AssignmentStatus.LEASED
            ).update(status=AssignmentStatus.SUBMITTED, submitted_at=now)
            if flipped != 1:
                return _outcome_of_repeat(assignment_id=assignment.pk, judgement=judgement, now=now)
            Assignment.objects.filter(pk=assignment.pk).update(draft={}, draft_saved_at=None)
            annotation = Annotation.objects.create(
                campaign=assignment.campaign,
                instance=assignment.instance,
                source=AnnotationSource.HUMAN,
                assignment=assignment,
                annotator=annotator,
                overall_preference=judgement.overall_preference,
                aspect_preferences=dict(judgement.aspect_preferences),
                justification=judgement.justification.strip(),
                confidence=judgement.confidence,
                time_spent_seconds=judgement.time_spent_seconds,
                guidelines_version=assignment.campaign.guidelines_version,
            )
    except IntegrityError:
        return _outcome_of_repeat(assignment_id=assignment.pk, judgement=judgement, now=now)
    return SubmissionOutcome(annotation=annotation, created=True)


def _label_fields(judgement: PairwiseJudgement) -> dict:
    return {
        "overall_preference": judgement.overall_preference,
        "aspect_preferences": dict(judgement.aspect_preferences),
        "justification": judgement.justification.strip(),
        "confidence": judgement.confidence,
    }


def _outcome_of_repeat(
    *, assignment_id: int, judgement: PairwiseJudgement, now: datetime
) -> SubmissionOutcome:
    assignment = Assignment.objects.select_related("campaign").get(pk=assignment_id)
    if assignment.status == AssignmentStatus.EXPIRED:
        raise SubmissionRejected(
            "Your lease on this item expired and it was given to another annotator; "
            "your answer was not recorded."
        )
    existing = Annotation.objects.filter(assignment_id=assignment_id).first()
    if existing is None:
        raise SubmissionRejected("This item could not be submitted; please reload the page.")
    wanted = _label_fields(judgement)
    if all(getattr(existing, name) == value for name, value in wanted.items()):
        return SubmissionOutcome(annotation=existing, created=False)
    if assignment.campaign.status not in _EDITABLE_CAMPAIGN_STATUSES:
        raise SubmissionRejected(
            "This campaign is closed, so submitted answers can no longer be changed; "
            "your change was not recorded."
        )
    # One UPDATE per edit, so two concurrent edits each bump the revision exactly once.
    Annotation.objects.filter(pk=existing.pk).update(
        **wanted, revision=F("revision") + 1, updated_at=now
    )
    existing.refresh_from_db()
    return SubmissionOutcome(annotation=existing, created=False, changed=True)


def save_assignment_draft(*, assignment_id: int, annotator, draft: dict, now: datetime | None = None) -> bool:
    """Keep the annotator's unsubmitted answer on their open lease and renew the lease.

    Returns False (and stores nothing) when the assignment is no longer theirs to answer:
    submitted, or expired and given away. The draft is form state (field name → string),
    never a label; ``submit_pairwise_annotation`` clears it.
    """
    now = now or timezone.now()
    assignment = (
        Assignment.objects.select_related("campaign")
        .filter(pk=assignment_id, annotator=annotator)
        .first()
    )
    if assignment is None:
        return False
    expires = now + timedelta(minutes=assignment.campaign.lease_minutes)
    # Conditional on LEASED: a draft never revives a lease another claim has expired.
    saved = Assignment.objects.filter(pk=assignment.pk, status=AssignmentStatus.LEASED).update(
        draft=draft, draft_saved_at=now, lease_expires_at=expires
    )
    return saved == 1


@dataclass(frozen=True)
class LLMPairwiseLabel:
    """What an LLM annotator says about one instance, with its provenance."""

    instance_id: int
    model_name: str
    prompt_version: str
    judgement: PairwiseJudgement
    raw_output: dict
    cost_usd: float | None = None


def record_llm_annotations(
    *, campaign: Campaign, labels: list[LLMPairwiseLabel], job: JobRun | None = None
) -> int:
    """Insert LLM labels, skipping any (instance, model, prompt version) already recorded.

    Idempotent: re-running a job writes nothing twice (a conditional unique constraint).
    Returns the number of new annotations.
    """
    if not labels:
        return 0
    instance_ids = {label.instance_id for label in labels}
    valid_ids = set(
        Instance.objects.filter(campaign=campaign, pk__in=instance_ids).values_list("pk", flat=True)
    )
    if valid_ids != instance_ids:
        raise ValueError(f"instances {sorted(instance_ids - valid_ids)} are not in {campaign}")
    rows = [
        Annotation(
            campaign=campaign,
            instance_id=label.instance_id,
            source=AnnotationSource.LLM,
            model_name=label.model_name,
            prompt_version=label.prompt_version,
            raw_output=label.raw_output,
            cost_usd=label.cost_usd,
            job=job,
            overall_preference=label.judgement.overall_preference,
            aspect_preferences=dict(label.judgement.aspect_preferences),
            justification=label.judgement.justification,
            confidence=label.judgement.confidence,
            guidelines_version=campaign.guidelines_version,
        )
        for label in labels
    ]
    before = Annotation.objects.filter(campaign=campaign, source=AnnotationSource.LLM).count()
    # Atomic: a batch lands whole; conflicts with rows from an earlier run are skipped.
    with transaction.atomic():
        Annotation.objects.bulk_create(rows, ignore_conflicts=True)
    after = Annotation.objects.filter(campaign=campaign, source=AnnotationSource.LLM).count()
    return after - before
