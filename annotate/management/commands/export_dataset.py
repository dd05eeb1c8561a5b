"""``manage.py export_dataset --campaign SLUG --format FORMAT [options]``: run an export job
here and now (the same job the page starts), print where its files are and what it dropped."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotate.exports import EXPORTERS
from annotate.models import Campaign, ExportFile, JobRun
from annotate.services.exports import (
    FILE_TYPES,
    LABEL_SOURCES,
    ExportRejected,
    run_export_job,
    start_export_job,
)


class Command(BaseCommand):
    help = "Export a campaign's labels in one dataset format (a JobRun run in this process)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--campaign", required=True, help="slug of the campaign")
        parser.add_argument("--format", dest="format_name", required=True, choices=sorted(EXPORTERS))
        parser.add_argument("--file-type", default="jsonl", choices=FILE_TYPES)
        parser.add_argument("--gzip", action="store_true", help="gzip the JSON lines")
        parser.add_argument("--split", action="store_true", help="train/validation split by prompt")
        parser.add_argument("--validation-fraction", type=float, default=0.1)
        parser.add_argument("--source", action="append", choices=LABEL_SOURCES, help="keep labels of this source (repeatable)")
        parser.add_argument("--pool", action="append", help="keep labels of this pool (repeatable)")
        parser.add_argument("--min-agreement", type=float)
        parser.add_argument("--license", default="")

    def handle(self, *args, campaign: str, format_name: str, **options) -> None:
        target = Campaign.objects.filter(slug=campaign).first()
        if target is None:
            raise CommandError(f'No campaign with slug "{campaign}".')
        try:
            job = start_export_job(
                campaign=target,
                created_by=None,
                format_name=format_name,
                options={
                    "file_type": options["file_type"],
                    "gzip": options["gzip"],
                    "split": options["split"],
                    "validation_fraction": options["validation_fraction"],
                    "sources": options["source"] or [],
                    "pools": options["pool"] or [],
                    "min_agreement": options["min_agreement"],
                    "license": options["license"],
                },
            )
        except ExportRejected as exc:
            raise CommandError(str(exc)) from None
        run_export_job(job_id=job.pk)
        job = JobRun.objects.get(pk=job.pk)
        if job.status != "succeeded":
            raise CommandError(job.error or f"The export ended {job.status}.")
        for stored in ExportFile.objects.filter(job=job):
            self.stdout.write(str(Path(settings.EXPORT_DIR) / stored.path))
        self.stdout.write(json.dumps(job.result, sort_keys=True))
