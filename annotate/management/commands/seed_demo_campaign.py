"""Seed the demo: four logins and a pairwise campaign with benign items shipped in the repo.

Safe to run twice: users and the campaign are reused, items are imported only once.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandError

from annotate.models import Campaign, CampaignRole
from annotate.services.campaigns import add_member, create_campaign
from annotate.services.imports import import_instances

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo"
DEMO_SLUG = "demo-everyday-assistant"
DEMO_LOGINS = [
    # username, password, role in the demo campaign (None: site admin)
    ("pm", "demo-pm-pass", CampaignRole.PROJECT_MANAGER),
    ("annotator1", "demo-annotator1-pass", CampaignRole.ANNOTATOR),
    ("annotator2", "demo-annotator2-pass", CampaignRole.ANNOTATOR),
    ("researcher", "demo-researcher-pass", CampaignRole.RESEARCHER),
    ("admin", "demo-admin-pass", None),
]


# One demo campaign per task template, each over the same demo items.
DEMO_CAMPAIGNS = [
    (DEMO_SLUG, "Demo: everyday assistant replies", "simple_pairwise"),
    ("demo-multipref", "Demo: MultiPref pairwise", "multipref"),
    ("demo-helpsteer2-preference", "Demo: HelpSteer2-Preference strength", "helpsteer2_preference"),
    ("demo-helpsteer2-rating", "Demo: HelpSteer2 ratings", "helpsteer2_rating"),
    ("demo-rate-then-prefer", "Demo: rate, then prefer", "rate_then_prefer"),
]


def guidelines_for(template: str) -> str:
    """Each task's own guidelines (their keys and scales differ); simple pairwise has the original."""
    own = DEMO_DIR / f"guidelines_{template}.md"
    return (own if own.exists() else DEMO_DIR / "guidelines.md").read_text()


class Command(BaseCommand):
    help = "Create the demo campaign and demo logins (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-demo-logins-without-debug",
            action="store_true",
            help="Seed even when DEBUG is off (the demo passwords are public: never in production).",
        )

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["allow_demo_logins_without_debug"]:
            raise CommandError(
                "Refusing to create demo logins with public passwords while DEBUG is off. "
                "Pass --allow-demo-logins-without-debug if this really is a throwaway instance."
            )
        users = {}
        User = get_user_model()
        for username, password, role in DEMO_LOGINS:
            user, _ = User.objects.get_or_create(username=username)
            user.set_password(password)
            if role is None:
                user.is_staff = user.is_superuser = True
            user.save()
            if role == CampaignRole.PROJECT_MANAGER:
                # The demo PM may create campaigns in the browser (/campaigns/new/).
                user.user_permissions.add(Permission.objects.get(codename="add_campaign", content_type__app_label="annotate"))
            users[username] = (user, role)

        for slug, name, template in DEMO_CAMPAIGNS:
            campaign = Campaign.objects.filter(slug=slug).first()
            if campaign is None:
                campaign = create_campaign(
                    name=name,
                    slug=slug,
                    template=template,
                    created_by=users["pm"][0],
                    guidelines_markdown=guidelines_for(template),
                    overlap=1,
                )
            for user, role in users.values():
                if role is not None:
                    add_member(campaign=campaign, user=user, role=role)
            if not campaign.instances.exists():
                summary = import_instances(
                    campaign=campaign,
                    data=(DEMO_DIR / "demo_campaign.jsonl").read_bytes(),
                    file_format="generic",
                )
                self.stdout.write(f"Imported {summary.created} demo instances into {slug}.")
            self.stdout.write(self.style.SUCCESS(f"Demo campaign: {campaign.name} (/campaigns/{slug}/)"))
        self.stdout.write("Demo logins (username / password):")
        for username, password, role in DEMO_LOGINS:
            label = role.label if role is not None else "Site admin"
            self.stdout.write(f"  {label:<16} {username:<11} / {password}")
        self.stdout.write(
            f"A file for the project manager to import: {DEMO_DIR / 'more_items.jsonl'}"
        )
