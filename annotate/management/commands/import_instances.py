"""``manage.py import_instances --campaign SLUG [--format FORMAT] PATH``: import synchronously.

Prints the number of instances created, or every row error (on stderr) and exits
with status 1 having written nothing.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotate.importers import IMPORT_FORMATS
from annotate.models import Campaign
from annotate.services.imports import ImportRejected, import_instances


class Command(BaseCommand):
    help = "Import instances from a JSON Lines file (optionally gzipped) into a campaign."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="JSON Lines file, plain or gzip-compressed")
        parser.add_argument("--campaign", required=True, help="slug of the campaign to fill")
        parser.add_argument(
            "--format",
            dest="file_format",
            default="generic",
            choices=list(IMPORT_FORMATS),
            help="file format (default: generic)",
        )

    def handle(self, *args, path: str, campaign: str, file_format: str, **options) -> None:
        target = Campaign.objects.filter(slug=campaign).first()
        if target is None:
            raise CommandError(f'No campaign with slug "{campaign}".')
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            stream = file.open("rb")
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from None
        try:
            with stream:
                summary = import_instances(campaign=target, file=stream, file_format=file_format)
        except ImportRejected as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            raise CommandError(exc.summary) from None
        noun = "instance" if summary.created == 1 else "instances"
        self.stdout.write(
            self.style.SUCCESS(
                f'Imported {summary.created:,} {noun} into campaign "{target.slug}".'
            )
        )
