"""A project manager's setup of a campaign: its settings, its lifecycle (pause, resume, close,
lock, unlock) and cloning it. Creating one and its guidelines' versions live in ``campaigns``."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from annotate.models import Campaign, CampaignRole, CampaignStatus, Instance, QueueItem, Response
from annotate.services.campaigns import add_member, configure_campaign, save_guidelines
from annotate.services.task_schemas import campaign_schema, create_task_schema
from annotate.task_templates import OptionSpec, QuestionSpec

# The local reward-model judge's name among the LLM annotators a campaign may allow.
LOCAL_JUDGE = "local"


class CampaignStateError(ValueError):
    """The lifecycle step does not apply to the campaign's current state; the message says why."""


def llm_annotator_choices() -> list[str]:
    """Every LLM annotator a campaign may allow: the configured chat judges, then the local judge."""
    return [*settings.LLM_ANNOTATORS, LOCAL_JUDGE]


def is_llm_annotator_allowed(*, campaign: Campaign, annotator: str) -> bool:
    """An empty allow-list allows every configured annotator."""
    return not campaign.allowed_llm_annotators or annotator in campaign.allowed_llm_annotators


def update_campaign_settings(
    *,
    campaign: Campaign,
    overlap: int,
    lease_minutes: int,
    pools: list[str],
    human_budget: int | None,
    allowed_llm_annotators: list[str],
    deadline: datetime.datetime | None,
    human_hourly_rate_usd: Decimal | None,
    aggregation_policy: str,
    randomize_response_order: bool,
) -> Campaign:
    """Store every setting at once (a PM's settings form). Raises ValidationError naming the
    field on a bad value; nothing is changed then."""
    unknown = [name for name in allowed_llm_annotators if name not in llm_annotator_choices()]
    if unknown:
        raise ValidationError({"allowed_llm_annotators": f"Not a configured LLM annotator: {', '.join(unknown)}."})
    extra = {
        "pools": list(dict.fromkeys(pools)),
        "allowed_llm_annotators": list(dict.fromkeys(allowed_llm_annotators)),
        "deadline": deadline,
        "human_hourly_rate_usd": human_hourly_rate_usd,
        "aggregation_policy": aggregation_policy,
        "randomize_response_order": randomize_response_order,
    }
    previous = {name: getattr(campaign, name) for name in extra}
    for name, value in extra.items():
        setattr(campaign, name, value)
    try:
        campaign.full_clean()
    except ValidationError:
        for name, value in previous.items():
            setattr(campaign, name, value)
        raise
    # One transaction: the overlap (applied to the queue) and the other settings land together.
    with transaction.atomic():
        configure_campaign(
            campaign=campaign, overlap=overlap, lease_minutes=lease_minutes, human_budget=human_budget
        )
        Campaign.objects.filter(pk=campaign.pk).update(**extra)
    return campaign


def _set_status(*, campaign: Campaign, status: str, allowed_from: set[str], verb: str) -> Campaign:
    # A conditional UPDATE: two PMs clicking at once cannot both move the campaign.
    changed = Campaign.objects.filter(pk=campaign.pk, status__in=allowed_from).update(status=status)
    if changed != 1:
        campaign.refresh_from_db(fields=["status"])
        raise CampaignStateError(f"A {campaign.get_status_display().lower()} campaign cannot be {verb}.")
    campaign.status = status
    return campaign


def pause_campaign(*, campaign: Campaign) -> Campaign:
    """No new items are handed out until it is resumed; open leases may still be submitted."""
    return _set_status(campaign=campaign, status=CampaignStatus.PAUSED,
                       allowed_from={CampaignStatus.ACTIVE}, verb="paused")


def resume_campaign(*, campaign: Campaign) -> Campaign:
    """A paused or draft campaign hands out items again."""
    return _set_status(campaign=campaign, status=CampaignStatus.ACTIVE,
                       allowed_from={CampaignStatus.PAUSED, CampaignStatus.DRAFT}, verb="resumed")


def close_campaign(*, campaign: Campaign) -> Campaign:
    """Closed (status completed): nothing more is handed out; labels and exports stay."""
    return _set_status(campaign=campaign, status=CampaignStatus.COMPLETED,
                       allowed_from={CampaignStatus.ACTIVE, CampaignStatus.PAUSED, CampaignStatus.DRAFT},
                       verb="closed")


def lock_campaign(*, campaign: Campaign) -> Campaign:
    """No more claims, submits or edits; exports still work. Idempotent (keeps the first time)."""
    now = timezone.now()
    Campaign.objects.filter(pk=campaign.pk, locked_at__isnull=True).update(locked_at=now)
    campaign.refresh_from_db(fields=["locked_at"])
    return campaign


def unlock_campaign(*, campaign: Campaign) -> Campaign:
    Campaign.objects.filter(pk=campaign.pk).update(locked_at=None)
    campaign.locked_at = None
    return campaign


def question_specs_of(campaign: Campaign) -> list[QuestionSpec]:
    """The campaign's current questions as plain specs (to copy or edit them)."""
    return [
        QuestionSpec(
            key=q.key, kind=q.kind, label=q.label, target=q.target, required=q.required,
            primary=q.primary, group=q.group, help_text=q.help_text, max_length=q.max_length,
            options=tuple(OptionSpec(o.code, o.label, o.value, o.description) for o in q.options),
        )
        for q in campaign_schema(campaign).questions
    ]


def clone_campaign(
    *, campaign: Campaign, name: str, slug: str, cloned_by, include_instances: bool = False
) -> Campaign:
    """A new campaign (status draft, unlocked) with the source's settings, current task schema,
    current guidelines and pools, and optionally its instances with their responses, each with
    a fresh queue item. Never its labels, assignments, jobs or members: the cloning user is
    its only member, as project manager."""
    source_template = campaign.task_schema.template if campaign.task_schema_id else ""
    # One transaction: a clone never exists half-copied.
    with transaction.atomic():
        clone = Campaign(
            name=name, slug=slug, description=campaign.description, overlap=campaign.overlap,
            lease_minutes=campaign.lease_minutes, human_budget=campaign.human_budget,
            randomize_response_order=campaign.randomize_response_order, status=CampaignStatus.DRAFT,
            deadline=campaign.deadline, pools=list(campaign.pools),
            allowed_llm_annotators=list(campaign.allowed_llm_annotators),
            aggregation_policy=campaign.aggregation_policy,
            human_hourly_rate_usd=campaign.human_hourly_rate_usd, created_by=cloned_by,
        )
        clone.full_clean()
        clone.save()
        create_task_schema(campaign=clone, questions=question_specs_of(campaign), template=source_template)
        save_guidelines(campaign=clone, markdown=campaign.guidelines_markdown, saved_by=cloned_by)
        add_member(campaign=clone, user=cloned_by, role=CampaignRole.PROJECT_MANAGER)
        if include_instances:
            _copy_instances(source=campaign, target=clone)
    return clone


def _copy_instances(*, source: Campaign, target: Campaign, batch_size: int = 500) -> None:
    sources = source.instances.order_by("id").prefetch_related("responses")
    batch: list[Instance] = []

    def flush() -> None:
        created = Instance.objects.bulk_create(
            [Instance(campaign=target, external_id=i.external_id, messages=i.messages, metadata=i.metadata)
             for i in batch]
        )
        Response.objects.bulk_create(
            [Response(instance=new, position=r.position, model_name=r.model_name, text=r.text)
             for old, new in zip(batch, created, strict=True) for r in old.responses.all()]
        )
        QueueItem.objects.bulk_create(
            [QueueItem(campaign=target, instance=new, required_overlap=target.overlap) for new in created]
        )
        batch.clear()

    for instance in sources.iterator(chunk_size=batch_size):
        batch.append(instance)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
