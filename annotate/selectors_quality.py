"""Reading quality: check items scored against their expected answers, the qualification
gate, and per-annotator figures (accuracy on checks, agreement with peers and with the
consensus of the others, time per item). Nothing here writes.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Callable

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from annotate.models import (
    Annotation,
    AnnotationSource,
    AnswerValue,
    Assignment,
    AssignmentStatus,
    Campaign,
    CampaignMembership,
    CampaignRole,
    GoldAnswer,
    QualificationResult,
    QualityFlag,
    QualitySettings,
    QueueItem,
    QueueItemKind,
)

CHECK_KINDS = (QueueItemKind.GOLD, QueueItemKind.ATTENTION, QueueItemKind.QUALIFICATION)


def get_quality_settings(*, campaign: Campaign) -> QualitySettings:
    """The campaign's settings (unsaved defaults, everything off, when none were saved),
    read once per campaign object: none when the campaign was read with them
    (``select_related("quality_settings")``, as the views' campaign lookup does), else one query."""
    cached = getattr(campaign, "_quality_settings_cache", None)
    if cached is None:
        read_along = Campaign._meta.get_field("quality_settings")
        if read_along.is_cached(campaign):
            cached = read_along.get_cached_value(campaign) or QualitySettings(campaign=campaign)
        else:
            cached = QualitySettings.objects.filter(campaign=campaign).first() or QualitySettings(campaign=campaign)
        campaign._quality_settings_cache = cached
    return cached


@dataclass(frozen=True)
class CheckResult:
    annotator_id: int
    instance_id: int
    kind: str
    correct: bool


def check_results(*, campaign: Campaign, annotator=None) -> list[CheckResult]:
    """Each human label of a check item, scored: correct when every expected answer of the
    item is matched (one value, within the tolerance)."""
    expected: dict[int, list[GoldAnswer]] = defaultdict(list)
    kinds = dict(
        QueueItem.objects.filter(campaign=campaign, kind__in=CHECK_KINDS).values_list("instance_id", "kind")
    )
    for gold in GoldAnswer.objects.filter(instance_id__in=kinds.keys()):
        expected[gold.instance_id].append(gold)
    labels = Annotation.objects.filter(
        campaign=campaign, source=AnnotationSource.HUMAN, instance_id__in=expected.keys()
    )
    if annotator is not None:
        labels = labels.filter(annotator=annotator)
    labels = list(labels.values_list("pk", "annotator_id", "instance_id"))
    values: dict[tuple, list[int | None]] = defaultdict(list)
    for annotation_id, key, position, value in AnswerValue.objects.filter(
        annotation_id__in=[pk for pk, _, _ in labels]
    ).values_list("annotation_id", "question__key", "response_position", "value"):
        values[(annotation_id, key, position)].append(value)
    results = []
    for pk, annotator_id, instance_id in labels:
        correct = all(
            len(found := values.get((pk, gold.question_key, gold.response_position), [])) == 1
            and gold.accepts(found[0])
            for gold in expected[instance_id]
        )
        results.append(CheckResult(annotator_id, instance_id, kinds[instance_id], correct))
    return results


def qualification_required(*, campaign: Campaign) -> bool:
    settings = get_quality_settings(campaign=campaign)
    return (
        settings.qualification_pass_fraction is not None
        and QueueItem.objects.filter(campaign=campaign, kind=QueueItemKind.QUALIFICATION).exists()
    )


def get_qualification_result(*, campaign: Campaign, annotator) -> QualificationResult | None:
    return QualificationResult.objects.filter(campaign=campaign, annotator=annotator).first()


@dataclass(frozen=True)
class QueueGate:
    """What quality control lets one annotator be given now: nothing, only items of
    ``only_kinds`` (when set), and never items of ``excluded_kinds``."""

    nothing: bool = False
    only_kinds: tuple[str, ...] = ()
    excluded_kinds: tuple[str, ...] = ()

    def apply(self, items: QuerySet[QueueItem]) -> QuerySet[QueueItem]:
        if self.nothing:
            return items.none()
        if self.only_kinds:
            items = items.filter(kind__in=self.only_kinds)
        if self.excluded_kinds:
            items = items.exclude(kind__in=self.excluded_kinds)
        return items

    def sql(self, alias: str) -> tuple[str, list[str]]:
        """The same narrowing as ``AND ...`` conditions on queue items aliased ``alias``
        (``kind`` is never null), with their params."""
        if self.nothing:
            return " AND 1 = 0", []
        conditions, params = "", []
        for kinds, negate in ((self.only_kinds, ""), (self.excluded_kinds, "NOT ")):
            if kinds:
                conditions += f" AND {negate}{alias}.kind IN ({', '.join(['%s'] * len(kinds))})"
                params += list(kinds)
        return conditions, params


def queue_gate(*, campaign: Campaign, annotator, ungated_items: Callable[[], QuerySet[QueueItem]]) -> QueueGate:
    """Quality control's narrowing of the annotator's open items: only qualification items
    until the test is decided, nothing after failing it. Gold items and attention checks with
    a rate (one in N) are mixed in unannounced: such a check is handed out only when one is
    due, and otherwise held back (a kind without a rate is handed out like any other item).
    ``ungated_items``: the annotator's open items before the gate, asked only when a check is
    due (is one of the due kinds open?)."""
    settings = get_quality_settings(campaign=campaign)
    if qualification_required(campaign=campaign):
        result = get_qualification_result(campaign=campaign, annotator=annotator)
        if result is None:
            return QueueGate(only_kinds=(QueueItemKind.QUALIFICATION.value,))
        if not result.passed:
            return QueueGate(nothing=True)
    no_qualification = (QueueItemKind.QUALIFICATION.value,)
    rates = {
        kind: every
        for kind, every in ((QueueItemKind.GOLD, settings.gold_every), (QueueItemKind.ATTENTION, settings.attention_check_every))
        if every
    }
    if not rates:
        return QueueGate(excluded_kinds=no_qualification)
    due = check_kinds_due(campaign=campaign, annotator=annotator, rates=rates)
    if due:
        checks = QueueGate(only_kinds=tuple(str(kind) for kind in due), excluded_kinds=no_qualification)
        if checks.apply(ungated_items()).exists():
            return checks
    return QueueGate(excluded_kinds=no_qualification + tuple(str(kind) for kind in rates))


def gate_queue_items(*, campaign: Campaign, annotator, items: QuerySet[QueueItem]) -> QuerySet[QueueItem]:
    """Narrow ``items`` (the annotator's open items) by quality control (:func:`queue_gate`)."""
    return queue_gate(campaign=campaign, annotator=annotator, ungated_items=lambda: items).apply(items)


def check_kinds_due(*, campaign: Campaign, annotator, rates: dict[str, int]) -> list[str]:
    """The check kinds due for ``annotator``: kind K with rate N is due when their last N-1
    submitted items (qualification items aside) hold none of kind K. Reads only those last
    few submissions (the ``assignment_recent_submissions`` index, newest first), so the cost
    does not grow with the annotator's history; and a check that could not be handed out
    for a while does not come back as a burst of checks."""
    window = max(rates.values()) - 1
    recent = list(
        Assignment.objects.filter(campaign=campaign, annotator=annotator, status=AssignmentStatus.SUBMITTED)
        .exclude(queue_item__kind=QueueItemKind.QUALIFICATION)
        .order_by("-submitted_at", "-id")
        .values_list("queue_item__kind", flat=True)[:window]
    )
    return [
        kind
        for kind, every in rates.items()
        if len(recent) >= every - 1 and kind not in recent[: every - 1]
    ]


def why_no_items(*, campaign: Campaign, annotator) -> str:
    """A message for the labelling page when quality control holds back the annotator's items."""
    if not qualification_required(campaign=campaign):
        return ""
    result = get_qualification_result(campaign=campaign, annotator=annotator)
    if result is not None and not result.passed:
        return (
            f"You did not pass this campaign's qualification test ({result.correct} of {result.total} "
            f"correct; {result.pass_fraction:.0%} needed), so no further items are handed to you. "
            "Your answers are kept; ask the project manager if you think this is wrong."
        )
    return ""


def _direction(value: int) -> int:
    return (value > 0) - (value < 0)


@dataclass
class AnnotatorQuality:
    annotator: object
    is_active: bool
    suspended_reason: str
    items: int = 0
    gold_correct: int = 0
    gold_total: int = 0
    attention_correct: int = 0
    attention_total: int = 0
    qualification: QualificationResult | None = None
    peer_agree: int = 0
    peer_pairs: int = 0
    consensus_agree: int = 0
    consensus_items: int = 0
    median_seconds: float | None = None
    fast_items: int = 0
    flags: list = field(default_factory=list)

    @staticmethod
    def _rate(num: int, den: int) -> float | None:
        return num / den if den else None

    @property
    def gold_accuracy(self):
        return self._rate(self.gold_correct, self.gold_total)

    @property
    def attention_accuracy(self):
        return self._rate(self.attention_correct, self.attention_total)

    @property
    def check_correct(self) -> int:
        return self.gold_correct + self.attention_correct

    @property
    def check_total(self) -> int:
        return self.gold_total + self.attention_total

    @property
    def check_accuracy(self):
        return self._rate(self.check_correct, self.check_total)

    @property
    def peer_agreement(self):
        return self._rate(self.peer_agree, self.peer_pairs)

    @property
    def consensus_agreement(self):
        return self._rate(self.consensus_agree, self.consensus_items)


def annotator_quality(*, campaign: Campaign, annotator=None) -> list[AnnotatorQuality]:
    """Per-annotator quality figures (all the campaign's annotators, or one).

    Agreement compares the direction of the overall preference (A, tie, B) on regular items:
    with peers, pair by pair on shared items; with the consensus, against the strict
    majority of the other annotators of the item (items without one are not counted).
    """
    memberships = CampaignMembership.objects.filter(campaign=campaign, role=CampaignRole.ANNOTATOR)
    if annotator is not None:
        memberships = memberships.filter(user=annotator)
    rows: dict[int, AnnotatorQuality] = {}
    users = get_user_model().objects.in_bulk([m.user_id for m in memberships])
    for m in memberships:
        rows[m.user_id] = AnnotatorQuality(users[m.user_id], m.is_active, m.suspended_reason)
    labels = Annotation.objects.filter(campaign=campaign, source=AnnotationSource.HUMAN)
    if annotator is not None:
        # One annotator's figures (the rules after each submit) read only the items they labelled.
        labels = labels.filter(
            instance_id__in=Annotation.objects.filter(
                campaign=campaign, source=AnnotationSource.HUMAN, annotator=annotator
            ).values("instance_id")
        )
    labels = list(
        labels.values_list(
            "annotator_id", "instance_id", "overall_preference", "time_spent_seconds", "instance__queue_item__kind"
        )
    )
    by_instance: dict[int, dict[int, int]] = defaultdict(dict)
    times: dict[int, list[float]] = defaultdict(list)
    for user_id, instance_id, preference, seconds, kind in labels:
        if user_id in rows:
            rows[user_id].items += 1
            if seconds is not None:
                times[user_id].append(seconds)
        if preference is not None and kind == QueueItemKind.REGULAR:
            by_instance[instance_id][user_id] = _direction(preference)
    settings = get_quality_settings(campaign=campaign)
    for user_id, row in rows.items():
        if times[user_id]:
            row.median_seconds = statistics.median(times[user_id])
            row.fast_items = sum(1 for s in times[user_id] if s < settings.fast_item_seconds)
    for directions in by_instance.values():
        for user_id, mine in directions.items():
            if user_id not in rows:
                continue
            others = [d for other, d in directions.items() if other != user_id]
            rows[user_id].peer_pairs += len(others)
            rows[user_id].peer_agree += sum(1 for d in others if d == mine)
            if others:
                top, n = Counter(others).most_common(1)[0]
                if n * 2 > len(others):
                    rows[user_id].consensus_items += 1
                    rows[user_id].consensus_agree += int(top == mine)
    for result in check_results(campaign=campaign, annotator=annotator):
        row = rows.get(result.annotator_id)
        if row is None:
            continue
        if result.kind == QueueItemKind.GOLD:
            row.gold_total += 1
            row.gold_correct += int(result.correct)
        elif result.kind == QueueItemKind.ATTENTION:
            row.attention_total += 1
            row.attention_correct += int(result.correct)
    for result in QualificationResult.objects.filter(campaign=campaign, annotator_id__in=rows):
        rows[result.annotator_id].qualification = result
    for flag in QualityFlag.objects.filter(campaign=campaign, annotator_id__in=rows):
        rows[flag.annotator_id].flags.append(flag)
    return sorted(rows.values(), key=lambda r: r.annotator.username)


def check_items(*, campaign: Campaign) -> list[QueueItem]:
    """The campaign's items with their kind and expected answers, for the PM's gold page."""
    return list(
        QueueItem.objects.filter(campaign=campaign)
        .select_related("instance")
        .prefetch_related("instance__gold_answers")
        .order_by("instance__external_id", "id")
    )
