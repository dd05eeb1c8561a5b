"""Quality control, the writing side: marking check items with their expected answers,
the campaign's quality settings, deciding qualification tests, and the rules that flag or
suspend an annotator after each submission. Labels are only read here, never changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from annotate.models import (
    Annotation,
    Assignment,
    AssignmentStatus,
    Campaign,
    CampaignMembership,
    CampaignRole,
    GoldAnswer,
    Instance,
    QualificationResult,
    QualityFlag,
    QualityRule,
    QualitySettings,
    QueueItem,
    QueueItemKind,
)
from annotate.selectors_quality import (
    CHECK_KINDS,
    annotator_quality,
    check_results,
    get_qualification_result,
    get_quality_settings,
    qualification_required,
)
from annotate.services.task_schemas import campaign_schema

# A check item is answered by every annotator: its overlap is the widest the column admits.
CHECK_ITEM_OVERLAP = 32767


class QualityRejected(Exception):
    """The quality change cannot be made; the message says why."""


@dataclass(frozen=True)
class ExpectedAnswer:
    question: str  # the question's key
    code: str  # the expected option's code
    tolerance: int = 0
    response_position: int | None = None


def mark_check_item(
    *, campaign: Campaign, instance: Instance, kind: str, expected: list[ExpectedAnswer], created_by=None
) -> QueueItem:
    """Make ``instance`` a gold, attention or qualification item with these expected answers
    (replacing earlier ones), or a regular item again (``kind`` regular, no answers). Labels
    already given to it are kept. Check items are answerable by every annotator."""
    if kind not in QueueItemKind.values:
        raise QualityRejected(f'"{kind}" is not an item kind.')
    item = QueueItem.objects.filter(campaign=campaign, instance=instance).first()
    if instance.campaign_id != campaign.pk or item is None:
        raise QualityRejected("That item is not in this campaign's queue.")
    golds = [] if kind == QueueItemKind.REGULAR else expected_answer_rows(schema=campaign_schema(campaign), expected=expected)
    for gold in golds:
        gold.instance, gold.created_by = instance, created_by
    if kind != QueueItemKind.REGULAR and not golds:
        raise QualityRejected("A check item needs at least one expected answer.")
    with transaction.atomic():
        item = QueueItem.objects.select_for_update().get(pk=item.pk)
        item.kind = kind
        item.required_overlap = (
            CHECK_ITEM_OVERLAP if kind != QueueItemKind.REGULAR else max(campaign.overlap, item.slots_taken)
        )
        item.save(update_fields=["kind", "required_overlap"])
        GoldAnswer.objects.filter(instance=instance).delete()
        GoldAnswer.objects.bulk_create(golds)
    return item


def expected_answer_rows(*, schema, expected: list[ExpectedAnswer]) -> list[GoldAnswer]:
    """Check expected answers against the task's questions; unsaved rows without their
    instance. Raises :class:`QualityRejected` naming the first problem."""
    questions = {q.key: q for q in schema.questions}
    rows = []
    for answer in expected:
        question = questions.get(answer.question)
        if question is None:
            raise QualityRejected(f'The task has no question "{answer.question}".')
        if question.per_response != (answer.response_position is not None):
            raise QualityRejected(
                f'"{answer.question}" is asked of each response: say which one.'
                if question.per_response
                else f'"{answer.question}" is asked of the pair, not of one response.'
            )
        options = {o.code: o for o in question.options}
        if not options:
            raise QualityRejected(f'"{answer.question}" has no options, so it has no expected value to check.')
        option = options.get(answer.code)
        if option is None:
            raise QualityRejected(
                f'"{answer.code}" is not an option of "{answer.question}" (one of: {", ".join(options)}).'
            )
        if option.value is None:
            raise QualityRejected(f'The option "{answer.code}" has no value to compare.')
        if answer.tolerance < 0:
            raise QualityRejected("The tolerance cannot be negative.")
        rows.append(
            GoldAnswer(
                question_key=answer.question,
                response_position=answer.response_position,
                expected_value=option.value,
                tolerance=answer.tolerance,
            )
        )
    return rows


def check_column_answers(*, schema, value) -> tuple[str, list[GoldAnswer]]:
    """An import row's ``check`` column (``{"kind": "gold", "expected": {"overall":
    "A-is-clearly-better"}, "tolerance": 1}``) as its item kind and expected answers.
    Raises :class:`QualityRejected` naming the problem."""
    if not isinstance(value, dict):
        raise QualityRejected('must be an object like {"kind": "gold", "expected": {"overall": "Tie"}}')
    kind = value.get("kind")
    if kind not in CHECK_KINDS:
        raise QualityRejected(f'"kind" must be one of {", ".join(CHECK_KINDS)}')
    expected = value.get("expected")
    if not isinstance(expected, dict) or not expected or not all(isinstance(c, str) for c in expected.values()):
        raise QualityRejected('"expected" must map question keys to option codes')
    tolerance = value.get("tolerance", 0)
    if not isinstance(tolerance, int) or isinstance(tolerance, bool) or tolerance < 0:
        raise QualityRejected('"tolerance" must be a whole number, 0 or more')
    answers = [ExpectedAnswer(question=key, code=code, tolerance=tolerance) for key, code in expected.items()]
    return kind, expected_answer_rows(schema=schema, expected=answers)


def update_quality_settings(*, campaign: Campaign, **values) -> QualitySettings:
    settings = QualitySettings.objects.filter(campaign=campaign).first() or QualitySettings(campaign=campaign)
    for name, value in values.items():
        setattr(settings, name, value)
    settings.full_clean(exclude=["campaign"])
    settings.save()
    campaign._quality_settings_cache = settings
    return settings


def decide_qualification_if_complete(*, campaign: Campaign, annotator, now: datetime | None = None):
    """Record the annotator's qualification result once no qualification item is left for
    them (each answered or skipped; a skipped one counts as wrong). Decided once."""
    if not qualification_required(campaign=campaign):
        return None
    existing = get_qualification_result(campaign=campaign, annotator=annotator)
    if existing is not None:
        return existing
    items = QueueItem.objects.filter(campaign=campaign, kind=QueueItemKind.QUALIFICATION)
    done = Assignment.objects.filter(
        campaign=campaign,
        annotator=annotator,
        queue_item__in=items,
        status__in=[AssignmentStatus.SUBMITTED, AssignmentStatus.SKIPPED],
    ).count()
    total = items.count()
    if done < total:
        return None
    correct = sum(
        1
        for r in check_results(campaign=campaign, annotator=annotator)
        if r.kind == QueueItemKind.QUALIFICATION and r.correct
    )
    fraction = get_quality_settings(campaign=campaign).qualification_pass_fraction
    try:
        with transaction.atomic():
            return QualificationResult.objects.create(
                campaign=campaign,
                annotator=annotator,
                correct=correct,
                total=total,
                pass_fraction=fraction,
                passed=correct >= fraction * total,
                decided_at=now or timezone.now(),
            )
    except IntegrityError:  # decided concurrently (two tabs): that decision stands
        return get_qualification_result(campaign=campaign, annotator=annotator)


def apply_quality_rules(*, campaign: Campaign, annotator) -> list[QualityFlag]:
    """Evaluate the campaign's rules for one annotator (after each of their submissions):
    low accuracy on checks suspends them, a low median time flags them. A rule fires once;
    a lifted one does not fire again. Returns the flags raised now."""
    settings = get_quality_settings(campaign=campaign)
    if settings.suspend_below_check_accuracy is None and settings.flag_below_median_seconds is None:
        return []
    figures = annotator_quality(campaign=campaign, annotator=annotator)
    if not figures:
        return []
    row = figures[0]
    raised = []
    fired = {flag.rule for flag in row.flags}
    threshold = settings.suspend_below_check_accuracy
    if (
        threshold is not None
        and QualityRule.CHECK_ACCURACY not in fired
        and row.check_total >= settings.suspend_after_checks
        and row.check_accuracy < threshold
    ):
        detail = (
            f"Accuracy on checks {row.check_correct}/{row.check_total} ({row.check_accuracy:.0%}) "
            f"is below {threshold:.0%}."
        )
        raised.append(_raise(campaign=campaign, annotator=annotator, rule=QualityRule.CHECK_ACCURACY, detail=detail, suspend=True))
    seconds = settings.flag_below_median_seconds
    timed = row.items if row.median_seconds is not None else 0
    if (
        seconds is not None
        and QualityRule.MEDIAN_TIME not in fired
        and timed >= settings.flag_after_items
        and row.median_seconds < seconds
    ):
        detail = f"Median time per item {row.median_seconds:.1f}s is below {seconds:g}s."
        raised.append(_raise(campaign=campaign, annotator=annotator, rule=QualityRule.MEDIAN_TIME, detail=detail, suspend=False))
    return [flag for flag in raised if flag is not None]


def _raise(*, campaign: Campaign, annotator, rule: str, detail: str, suspend: bool) -> QualityFlag | None:
    try:
        with transaction.atomic():
            flag = QualityFlag.objects.create(
                campaign=campaign, annotator=annotator, rule=rule, detail=detail, suspended=suspend
            )
            if suspend:
                CampaignMembership.objects.filter(
                    campaign=campaign, user=annotator, role=CampaignRole.ANNOTATOR
                ).update(is_active=False, suspended_reason=f"Suspended by a quality rule: {detail}"[:300])
            return flag
    except IntegrityError:  # raised concurrently: once is enough
        return None


def lift_quality_flag(*, campaign: Campaign, flag_id: int, lifted_by, now: datetime | None = None) -> QualityFlag:
    """The PM lifts a flag; a suspension's membership is active again."""
    flag = QualityFlag.objects.filter(campaign=campaign, pk=flag_id).first()
    if flag is None:
        raise QualityRejected("No such flag in this campaign.")
    if flag.lifted_at is not None:
        return flag
    with transaction.atomic():
        flag.lifted_at = now or timezone.now()
        flag.lifted_by = lifted_by
        flag.save(update_fields=["lifted_at", "lifted_by"])
        if flag.suspended:
            CampaignMembership.objects.filter(
                campaign=campaign, user_id=flag.annotator_id, role=CampaignRole.ANNOTATOR
            ).update(is_active=True, suspended_reason="")
    return flag


def record_quality_after_submit(*, annotation: Annotation) -> None:
    """Called by ``submit_annotation`` after a label is stored or changed."""
    campaign = annotation.campaign
    decide_qualification_if_complete(campaign=campaign, annotator=annotation.annotator)
    apply_quality_rules(campaign=campaign, annotator=annotation.annotator)
