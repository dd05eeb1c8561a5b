"""Creating campaigns, their guidelines' versions, and giving people roles in them."""

from __future__ import annotations

from types import EllipsisType

from django.db import transaction
from django.db.models import F, Max, Value
from django.db.models.functions import Greatest
from django.utils.text import slugify

from annotate.models import (
    AggregationPolicy,
    Campaign,
    CampaignMembership,
    CampaignRole,
    GuidelineVersion,
    QueueItem,
)
from annotate.services.task_schemas import create_task_schema_from_template
from annotate.task_templates import DEFAULT_TEMPLATE, TEMPLATES


def create_campaign(
    *,
    name: str,
    created_by,
    slug: str | None = None,
    description: str = "",
    template: str = DEFAULT_TEMPLATE,
    guidelines_markdown: str = "",
    overlap: int = 1,
    lease_minutes: int = 30,
    human_budget: int | None = None,
    randomize_response_order: bool = True,
    aggregation_policy: str | None = None,
) -> Campaign:
    """Create a campaign with task schema v1 from ``template`` and guidelines v1; its creator
    becomes its first project manager. The aggregation policy defaults to the template's
    (MultiPref majority for MultiPref, and so on)."""
    # One transaction: a campaign never exists without its schema, guidelines and manager.
    with transaction.atomic():
        campaign = Campaign(
            name=name,
            slug=slug or slugify(name)[:80],
            description=description,
            overlap=overlap,
            lease_minutes=lease_minutes,
            human_budget=human_budget,
            randomize_response_order=randomize_response_order,
            aggregation_policy=aggregation_policy or template_policy(template),
            created_by=created_by,
        )
        campaign.full_clean()
        campaign.save()
        create_task_schema_from_template(campaign=campaign, template=template)
        save_guidelines(campaign=campaign, markdown=guidelines_markdown, saved_by=created_by)
        if created_by is not None:
            add_member(campaign=campaign, user=created_by, role=CampaignRole.PROJECT_MANAGER)
    return campaign


def template_policy(template: str) -> str:
    """The aggregation policy a campaign from ``template`` starts with."""
    known = TEMPLATES.get(template)
    return known.aggregation_policy if known is not None else AggregationPolicy.STRICT_MAJORITY


def save_guidelines(*, campaign: Campaign, markdown: str, saved_by=None) -> GuidelineVersion:
    """Store ``markdown`` as the campaign's next guidelines version and make it current.
    Labels made earlier keep pointing at the version they were made under."""
    # The campaign row is locked: two saves never take the same version number.
    with transaction.atomic():
        Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
        latest = campaign.guideline_versions.aggregate(v=Max("version"))["v"] or 0
        version = GuidelineVersion.objects.create(
            campaign=campaign, version=latest + 1, markdown=markdown, created_by=saved_by
        )
        Campaign.objects.filter(pk=campaign.pk).update(guidelines=version)
    campaign.guidelines = version
    return version


def add_member(
    *, campaign: Campaign, user, role: CampaignRole, pool: str = ""
) -> CampaignMembership:
    """Idempotent: giving someone a role they already have changes nothing (but the pool)."""
    membership, created = CampaignMembership.objects.get_or_create(
        campaign=campaign, user=user, role=role, defaults={"pool": pool}
    )
    if not created and pool and membership.pool != pool:
        membership.pool = pool
        membership.save(update_fields=["pool"])
    return membership


def configure_campaign(
    *,
    campaign: Campaign,
    overlap: int | None = None,
    lease_minutes: int | None = None,
    status: str | None = None,
    human_budget: int | None | EllipsisType = ...,
) -> Campaign:
    """Change the given settings (None or, for ``human_budget``, ``...`` keeps one).

    A new overlap applies to every queue item, never below the slots an item has already
    handed out; a new lease length applies to leases taken from now on.
    """
    changes: dict = {}
    if overlap is not None:
        changes["overlap"] = overlap
    if lease_minutes is not None:
        changes["lease_minutes"] = lease_minutes
    if status is not None:
        changes["status"] = status
    if human_budget is not ...:
        changes["human_budget"] = human_budget
    for name, value in changes.items():
        setattr(campaign, name, value)
    campaign.full_clean()
    # One transaction: the campaign's overlap and its items' overlap never disagree.
    with transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk).update(**changes)
        if overlap is not None:
            QueueItem.objects.filter(campaign=campaign).update(
                required_overlap=Greatest(Value(overlap), F("slots_taken"))
            )
    return campaign
