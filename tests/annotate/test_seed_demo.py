"""The demo: one campaign per task template, each with guidelines whose key tables match its scale."""

from __future__ import annotations

from django.core.management import call_command

from annotate.models import Campaign
from annotate.services.task_schemas import campaign_schema
from annotate.task_templates import TEMPLATES


def test_the_demo_seeds_one_campaign_per_template_with_guidelines_that_match_its_keys(db, settings):
    settings.DEBUG = True
    call_command("seed_demo_campaign", verbosity=0)
    campaigns = list(Campaign.objects.all())
    assert sorted(c.task_schema.template for c in campaigns) == sorted(TEMPLATES)
    for campaign in campaigns:
        assert campaign.instances.count() == 16
        schema = campaign_schema(campaign)
        primary = schema.primary
        if primary is None:
            assert "0" in campaign.guidelines_markdown and "4" in campaign.guidelines_markdown
            continue
        for i, option in enumerate(primary.options):
            row = f"| {primary.key_for(i, option)} | **{option.label}**"
            assert row in campaign.guidelines_markdown, (campaign.slug, row)
