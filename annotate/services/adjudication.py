"""Adjudication: a PM sets the final label of an instance. The annotators' labels are never
touched; the previous decision stays as history (``is_current=False``).

Only regular items are adjudicated. A gold or attention item's answer is known already (its
expected answer, set on the quality page): annotators who depart from it are scored on
accuracy, a quality signal, and its expected answer is what to correct if it is wrong.
Qualification items are answered by candidates before they are admitted."""

from __future__ import annotations

from django.db import transaction

from annotate.models import Adjudication, Campaign, Instance, Question, QueueItem, QueueItemKind


class AdjudicationError(ValueError):
    pass


def preference_bounds(*, campaign: Campaign) -> tuple[int, int]:
    """The bounds of the campaign's primary pairwise scale (the adjudicated label's scale)."""
    question = (
        Question.objects.filter(schema=campaign.task_schema, primary=True).prefetch_related("options").first()
        if campaign.task_schema_id
        else None
    )
    values = [o.value for o in question.options.all() if o.value is not None] if question else []
    return (min(values), max(values)) if values else (-2, 2)


def adjudicate_instance(
    *, campaign: Campaign, instance: Instance, overall_preference: int, note: str, decided_by
) -> Adjudication:
    """Record ``decided_by``'s final label for ``instance`` and make it the current one.

    Raises :class:`AdjudicationError` (nothing written) for an instance of another campaign,
    a check item, a preference off the campaign's scale, or an empty note."""
    if instance.campaign_id != campaign.pk:
        raise AdjudicationError("That instance is not in this campaign.")
    if QueueItem.objects.filter(instance=instance).exclude(kind=QueueItemKind.REGULAR).exists():
        raise AdjudicationError(
            "That is a check item: its expected answer is its label (change it on the quality page)."
        )
    low, high = preference_bounds(campaign=campaign)
    if not low <= overall_preference <= high:
        raise AdjudicationError(f"The preference must be between {low} and {high}.")
    if not note.strip():
        raise AdjudicationError("Say why in a note: it is kept with the decision.")
    with transaction.atomic():
        # Two PMs deciding the same instance at once: the row lock orders them, so each
        # demotes the decision before it and exactly one stays current.
        Instance.objects.select_for_update().get(pk=instance.pk)
        Adjudication.objects.filter(instance=instance, is_current=True).update(is_current=False)
        return Adjudication.objects.create(
            campaign=campaign,
            instance=instance,
            overall_preference=overall_preference,
            note=note.strip(),
            decided_by=decided_by,
        )
