"""Creating campaigns and giving people roles in them."""

from __future__ import annotations

from django.db import transaction
from django.utils.text import slugify

from annotate.models import Campaign, CampaignMembership, CampaignRole, TaskKind


def create_campaign(
    *,
    name: str,
    created_by,
    slug: str | None = None,
    task_kind: TaskKind = TaskKind.PAIRWISE,
    guidelines_markdown: str = "",
    overlap: int = 1,
    pairwise_aspects: list[str] | None = None,
    require_justification: bool = True,
    lease_minutes: int = 30,
    human_budget: int | None = None,
) -> Campaign:
    """Create a campaign; its creator becomes its first project manager."""
    # One transaction: a campaign never exists without its project manager.
    with transaction.atomic():
        campaign = Campaign(
            name=name,
            slug=slug or slugify(name)[:80],
            task_kind=task_kind,
            guidelines_markdown=guidelines_markdown,
            overlap=overlap,
            require_justification=require_justification,
            lease_minutes=lease_minutes,
            human_budget=human_budget,
            created_by=created_by,
        )
        if pairwise_aspects is not None:
            campaign.pairwise_aspects = pairwise_aspects
        campaign.full_clean()
        campaign.save()
        if created_by is not None:
            add_member(campaign=campaign, user=created_by, role=CampaignRole.PROJECT_MANAGER)
    return campaign


def add_member(*, campaign: Campaign, user, role: CampaignRole) -> CampaignMembership:
    """Idempotent: giving someone a role they already have changes nothing."""
    membership, _ = CampaignMembership.objects.get_or_create(campaign=campaign, user=user, role=role)
    return membership
