"""The stored upload files of import jobs (``ImportUpload.file``, under ``MEDIA_ROOT/imports/``):
removed once their import is finished, and swept periodically.

An upload is kept exactly as long as its import may still read it: while the job is QUEUED or
RUNNING (a requeued job, one whose worker was lost, reads it again). SUCCEEDED and FAILED are
final (no claim ever moves a finished job back), so once the row says so the file can go, and
no running import can be reading it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import DatabaseError
from django.utils import timezone

from annotate.models import ImportUpload, JobStatus

logger = logging.getLogger(__name__)

UPLOAD_FOLDER = "imports"
FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED)


@dataclass(frozen=True)
class SweptUploads:
    files_of_finished_imports: int  # files whose import finished before the retention cut-off
    orphan_files: int  # files no import refers to (an upload whose job was never created)


def discard_upload_of_finished_import(*, job_id: int) -> bool:
    """Delete the stored file of import job ``job_id`` if that job is finished; True when a
    file (or a pre-0014 database copy) was removed. Never raises: a file left behind (a
    database or storage error) is the sweep's."""
    try:
        upload = (
            ImportUpload.objects.filter(job_id=job_id, job__status__in=FINISHED)
            .only("pk", "file", "content")
            .first()
        )
        if upload is None:
            return False
        return _discard(upload)
    except (DatabaseError, OSError):
        logger.warning("JobRun %s: its upload was not removed; the sweep will", job_id, exc_info=True)
        return False


def sweep_upload_files(*, now: datetime | None = None) -> SweptUploads:
    """Remove the upload files older than ``UPLOAD_RETENTION_HOURS`` whose import is finished,
    and the files under ``imports/`` that no import refers to and that are as old. Files of
    QUEUED or RUNNING imports are never touched, however old. Idempotent."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.UPLOAD_RETENTION_HOURS)
    finished = 0
    stale = ImportUpload.objects.filter(job__status__in=FINISHED, job__created_at__lt=cutoff).exclude(
        file="", content__isnull=True
    )
    for upload in stale.only("pk", "file", "content").iterator():
        try:
            finished += _discard(upload)
        except OSError:
            logger.warning("Upload %s: its file could not be removed", upload.file.name, exc_info=True)
    return SweptUploads(files_of_finished_imports=finished, orphan_files=_sweep_orphans(cutoff=cutoff))


def _discard(upload: ImportUpload) -> bool:
    removed = False
    if upload.file:
        # Storage first, then the row: a crash in between leaves a name the sweep finds gone.
        default_storage.delete(upload.file.name)
        removed = True
    ImportUpload.objects.filter(pk=upload.pk).update(file="", content=None)
    return removed or upload.content is not None


def _sweep_orphans(*, cutoff: datetime) -> int:
    """Files under ``imports/`` older than ``cutoff`` that no ImportUpload row names.

    The names are read before the folder is walked: a file saved meanwhile is younger than
    the cut-off, so an upload whose row is being written is never taken for an orphan."""
    referenced = set(ImportUpload.objects.exclude(file="").values_list("file", flat=True))
    removed = 0
    for name in _stored_names(UPLOAD_FOLDER):
        if name in referenced:
            continue
        try:
            if default_storage.get_modified_time(name) >= cutoff:
                continue
            default_storage.delete(name)
        except OSError:
            logger.warning("Orphan upload %s could not be removed", name, exc_info=True)
            continue
        logger.info("Removed orphan upload %s", name)
        removed += 1
    return removed


def _stored_names(folder: str) -> list[str]:
    try:
        folders, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return []
    names = [f"{folder}/{name}" for name in files]
    for sub in folders:
        names.extend(_stored_names(f"{folder}/{sub}"))
    return names
