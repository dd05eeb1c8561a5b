"""Recording labels: human submissions (exactly once, editable while the campaign is open)
and LLM annotations (idempotent). Every label's answers are AnswerValue rows checked against
the campaign's task schema by ``annotate.services.answers``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from annotate.judgements import PairwiseJudgement
from annotate.models import (
    Annotation,
    AnnotationSource,
    AnswerValue,
    Assignment,
    AssignmentStatus,
    Campaign,
    CampaignStatus,
    Instance,
    JobRun,
    QuestionKind,
    Response,
)
from annotate.selectors import annotator_pool_of_assignment
from annotate.services.answers import (
    AnswerInput,
    AnswersRejected,
    answers_of,
    canonical,
    check_answers,
    to_positions,
)
from annotate.services.assignments import retake_expired_slot
from annotate.services.quality import record_quality_after_submit
from annotate.services.task_schemas import SchemaView, campaign_schema, get_schema_view


class SubmissionRejected(Exception):
    """The submission cannot be recorded; the message says why, for the annotator."""


@dataclass(frozen=True)
class SubmissionOutcome:
    annotation: Annotation
    created: bool  # False when this was a repeat of an already counted submission
    changed: bool = False  # a repeat with a different answer: the stored label was updated


# Longer than a week on one item is no measurement (an API client's or a tampered form's value).
MAX_TIME_SPENT_SECONDS = 7 * 86_400


def measured_time_spent(seconds: float | None) -> float | None:
    """The time an annotator spent, when it is a possible one: a negative, infinite or
    week-long value is not stored (the label is; the time is advisory)."""
    if seconds is None or not (0 <= seconds < MAX_TIME_SPENT_SECONDS):
        return None
    return float(seconds)


# A submitted answer can still be changed by its annotator while the campaign is open.
_EDITABLE_CAMPAIGN_STATUSES = {CampaignStatus.ACTIVE, CampaignStatus.PAUSED, CampaignStatus.DRAFT}


def submitted_answers_are_editable(campaign: Campaign) -> bool:
    return campaign.status in _EDITABLE_CAMPAIGN_STATUSES and not campaign.is_locked


def _attach(rows, annotation: Annotation) -> list[AnswerValue]:
    for row in rows:
        row.annotation = annotation
    return list(rows)


def submit_annotation(
    *,
    assignment_id: int,
    annotator,
    answers: Sequence[AnswerInput],
    time_spent_seconds: float | None = None,
    now: datetime | None = None,
    campaign: Campaign | None = None,
    assignment: Assignment | None = None,
) -> SubmissionOutcome:
    """Record the annotator's answers (in display slots) for their assignment.

    Accepted while the assignment is LEASED, even past its expiry; an EXPIRED lease is
    accepted if its queue item still has a free slot, and refused with a message (never
    silently dropped) if another annotator took it. A repeat with the same answers changes
    nothing; with different answers (the annotator went Back, or edits a recent submission)
    it replaces the one stored label's answers, while the campaign is open. An edit is
    checked against the schema version the label was made under.

    ``campaign``: the assignment's campaign as the caller has read it (with its task schema),
    used instead of reading it again, so that the quality gate reads its settings once per
    request (this submit's and the next claim's); a campaign other than the assignment's is
    ignored. ``assignment``: assignment ``assignment_id`` as the caller has just read it for
    ``annotator`` with its ``annotator_pool`` (``get_assignment_for_annotator_or_404``), used
    instead of reading it again. A status it read that has changed since is safe: the flip to
    submitted is conditional, and a refused flip reads the status again.
    """
    now = now or timezone.now()
    usable = (
        assignment is not None
        and assignment.pk == assignment_id
        and assignment.annotator_id == annotator.pk
        and hasattr(assignment, "annotator_pool")
    )
    if not usable:
        # The instance is not read (the label needs only its id), nor the campaign when given;
        # the annotator's pool in this campaign rides along in the same query (a subquery).
        assignments = Assignment.objects.all()
        if campaign is None:
            assignments = assignments.select_related("campaign__task_schema", "campaign__guidelines")
        assignment = (
            assignments.annotate(annotator_pool=annotator_pool_of_assignment())
            .filter(pk=assignment_id, annotator=annotator)
            .first()
        )
    if assignment is None:
        raise SubmissionRejected("This item is not assigned to you.")
    if campaign is not None and assignment.campaign_id == campaign.pk:
        assignment.campaign = campaign
    campaign = assignment.campaign
    if assignment.status == AssignmentStatus.SUBMITTED:
        return _outcome_of_repeat(assignment=assignment, answers=answers, now=now)
    if campaign.is_locked:
        raise SubmissionRejected(
            "This campaign is locked by its project manager, so no new labels are recorded; "
            "your answer was not recorded (your saved draft is kept)."
        )
    schema = campaign_schema(campaign)
    checked, positioned = _checked(assignment=assignment, schema=schema, answers=answers)
    for _attempt in range(2):
        if assignment.status == AssignmentStatus.EXPIRED and not retake_expired_slot(
            assignment=assignment, now=now
        ):
            raise SubmissionRejected(
                "Your lease on this item expired and it was given to another annotator; "
                "your answer was not recorded."
            )
        try:
            # One transaction: the status flip, the label and its answers commit together or not at all.
            with transaction.atomic():
                # Conditional UPDATE: of two concurrent submits, exactly one sees rowcount 1.
                flipped = Assignment.objects.filter(
                    pk=assignment.pk, status=AssignmentStatus.LEASED
                ).update(status=AssignmentStatus.SUBMITTED, submitted_at=now, draft={}, draft_saved_at=None)
                if flipped == 1:
                    annotation = Annotation.objects.create(
                        campaign=campaign,
                        instance_id=assignment.instance_id,
                        source=AnnotationSource.HUMAN,
                        assignment=assignment,
                        annotator=annotator,
                        pool=assignment.annotator_pool or "",
                        task_schema_id=schema.id,
                        guidelines_id=campaign.guidelines_id,
                        overall_preference=checked.overall_preference,
                        time_spent_seconds=measured_time_spent(time_spent_seconds),
                    )
                    AnswerValue.objects.bulk_create(_attach(checked.rows, annotation))
        except IntegrityError:
            pass
        else:
            if flipped == 1:
                record_quality_after_submit(annotation=annotation)
                return SubmissionOutcome(annotation=annotation, created=True)
        assignment.refresh_from_db(fields=["status"])
        if assignment.status == AssignmentStatus.SUBMITTED:
            return _outcome_of_repeat(assignment=assignment, answers=answers, now=now)
        # A sweep expired the lease between our read and the flip: retake a free slot once.
    raise SubmissionRejected(
        "This item is no longer yours to answer (its lease expired or you skipped it); "
        "your answer was not recorded."
    )


def _checked(*, assignment: Assignment, schema: SchemaView, answers: Sequence[AnswerInput]):
    # The display order lists every response (recorded when the item was first shown).
    n_responses = len(assignment.display_order) or Response.objects.filter(instance_id=assignment.instance_id).count()
    try:
        positioned = to_positions(schema=schema, answers=answers, display_order=assignment.display_order)
        return check_answers(schema=schema, answers=positioned, n_responses=n_responses), positioned
    except AnswersRejected as exc:
        raise SubmissionRejected(str(exc)) from exc


def _outcome_of_repeat(*, assignment: Assignment, answers: Sequence[AnswerInput], now: datetime) -> SubmissionOutcome:
    existing = Annotation.objects.select_related("task_schema").filter(assignment_id=assignment.pk).first()
    if existing is None:
        raise SubmissionRejected("This item could not be submitted; please reload the page.")
    # An edit answers the questions the label was made with, whatever the current version.
    schema = get_schema_view(existing.task_schema) if existing.task_schema_id else campaign_schema(assignment.campaign)
    checked, positioned = _checked(assignment=assignment, schema=schema, answers=answers)
    # One transaction, with the label locked: two concurrent edits apply one after the other,
    # each comparing against what the other stored.
    with transaction.atomic():
        locked = Annotation.objects.select_for_update().get(pk=existing.pk)
        if canonical(answers_of(locked.answers.all(), schema)) == canonical(positioned):
            return SubmissionOutcome(annotation=locked, created=False)
        if not submitted_answers_are_editable(assignment.campaign):
            raise SubmissionRejected(
                "This campaign is closed, so submitted answers can no longer be changed; "
                "your change was not recorded."
            )
        locked.answers.all().delete()
        AnswerValue.objects.bulk_create(_attach(checked.rows, locked))
        Annotation.objects.filter(pk=locked.pk).update(
            overall_preference=checked.overall_preference, revision=F("revision") + 1, updated_at=now
        )
    locked.refresh_from_db()
    record_quality_after_submit(annotation=locked)
    return SubmissionOutcome(annotation=locked, created=False, changed=True)


def save_assignment_draft(*, assignment_id: int, annotator, draft: dict, now: datetime | None = None) -> bool:
    """Keep the annotator's unsubmitted answer on their open lease and renew the lease.

    Returns False (and stores nothing) when the assignment is no longer theirs to answer:
    submitted, skipped, or expired with its slot given away. The draft is form state
    (field name → string or list of strings), never a label; a submission clears it.
    """
    now = now or timezone.now()
    assignment = (
        Assignment.objects.select_related("campaign")
        .filter(pk=assignment_id, annotator=annotator)
        .first()
    )
    if assignment is None:
        return False
    if assignment.status == AssignmentStatus.EXPIRED and not retake_expired_slot(assignment=assignment, now=now):
        return False
    expires = now + timedelta(minutes=assignment.campaign.lease_minutes)
    # Conditional on LEASED: a draft never revives a lease that was submitted or skipped.
    saved = Assignment.objects.filter(pk=assignment.pk, status=AssignmentStatus.LEASED).update(
        draft=draft, draft_saved_at=now, lease_expires_at=expires
    )
    return saved == 1


@dataclass(frozen=True)
class LLMPairwiseLabel:
    """What an LLM annotator says about one instance (by response position), with provenance."""

    instance_id: int
    model_name: str
    prompt_version: str
    judgement: PairwiseJudgement
    raw_output: dict
    cost_usd: float | None = None


def llm_answers_for(*, schema: SchemaView, judgement: PairwiseJudgement) -> list[AnswerInput]:
    """The judgement as answers to the schema's questions.

    The overall preference answers the primary question, clamped into its scale (a 5-point
    judge on a 7-point scale keeps its values; on a 3-point scale ±2 becomes ±1); aspect
    preferences answer the pairwise questions with the same key; response ratings answer the
    per-response rating questions with the same key when the value is one of their options;
    the justification answers a ``justification`` text question when there is one (it is
    always kept in raw output). Anything else is left to the label's raw output.
    """
    answers: list[AnswerInput] = []
    primary = schema.primary
    if primary is not None and judgement.overall_preference is not None:
        option = _nearest_option(primary, judgement.overall_preference)
        if option is not None:
            answers.append(AnswerInput(question=primary.key, codes=(option.code,)))
    for key, value in judgement.aspect_preferences.items():
        question = schema.by_key.get(key)
        if question is not None and question.kind == QuestionKind.PAIRWISE and not question.primary:
            option = _nearest_option(question, value)
            if option is not None:
                answers.append(AnswerInput(question=key, codes=(option.code,)))
    for position, ratings in enumerate(judgement.response_ratings):
        for key, value in ratings.items():
            question = schema.by_key.get(key)
            is_rating = question is not None and question.kind == QuestionKind.RATING
            if not is_rating or not question.per_response:
                continue
            option = question.option_with_value(value)
            if option is not None:
                answers.append(AnswerInput(question=key, slot=position, codes=(option.code,)))
    text_question = schema.by_key.get("justification")
    if judgement.justification and text_question is not None and text_question.kind == QuestionKind.TEXT:
        # Cut to the question's limit; the whole text stays in the label's raw output.
        text = judgement.justification[: text_question.max_length or None]
        answers.append(AnswerInput(question="justification", text=text))
    return answers


def _nearest_option(question, value: int):
    values = [o.value for o in question.options if o.value is not None]
    if not values:
        return None
    limit = max(values)
    clamped = max(-limit, min(limit, value))
    return question.option_with_value(clamped)


def record_llm_annotations(
    *, campaign: Campaign, labels: list[LLMPairwiseLabel], job: JobRun | None = None
) -> int:
    """Insert LLM labels with their answers, skipping any (instance, model, prompt version)
    already recorded.

    Idempotent: re-running a job writes nothing twice (a conditional unique constraint).
    Returns the number of new annotations.
    """
    if not labels:
        return 0
    schema = campaign_schema(campaign)
    instance_ids = {label.instance_id for label in labels}
    valid_ids = set(
        Instance.objects.filter(campaign=campaign, pk__in=instance_ids).values_list("pk", flat=True)
    )
    if valid_ids != instance_ids:
        raise ValueError(f"instances {sorted(instance_ids - valid_ids)} are not in {campaign}")
    created = 0
    for label in labels:
        try:
            checked = check_answers(
                schema=schema,
                answers=llm_answers_for(schema=schema, judgement=label.judgement),
                n_responses=2,
                enforce_required=False,
            )
        except AnswersRejected as exc:
            raise ValueError(f"instance {label.instance_id}: {exc}") from exc
        raw_output = dict(label.raw_output)
        if label.judgement.justification:
            raw_output.setdefault("justification", label.judgement.justification)
        # Atomic per label: the annotation and its answers land together; a label recorded by
        # an earlier run (the unique constraint) is skipped whole.
        try:
            with transaction.atomic():
                annotation = Annotation.objects.create(
                    campaign=campaign,
                    instance_id=label.instance_id,
                    source=AnnotationSource.LLM,
                    model_name=label.model_name,
                    prompt_version=label.prompt_version,
                    raw_output=raw_output,
                    cost_usd=label.cost_usd,
                    job=job,
                    task_schema_id=schema.id,
                    guidelines_id=campaign.guidelines_id,
                    overall_preference=checked.overall_preference,
                    confidence=label.judgement.confidence,
                )
                AnswerValue.objects.bulk_create(_attach(checked.rows, annotation))
        except IntegrityError:
            continue
        created += 1
    return created
