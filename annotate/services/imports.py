"""Importing instances from an uploaded file: check every row, then write all or nothing.

Three interfaces reach this module: the PM upload page and the API (a small file is
imported in the request through :func:`import_instances`, a large one becomes a job
through :func:`start_import_job`), the Celery task ``annotate.run_import`` (through
:func:`run_import_job`) and the ``import_instances`` management command.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.db import IntegrityError, transaction

from annotate.importers import get_importer
from annotate.importers.base import RowError
from annotate.models import (
    Annotation,
    AnnotationSource,
    Campaign,
    ImportUpload,
    Instance,
    JobKind,
    JobRun,
)
from annotate.services.import_checks import (
    MAX_REPORTED_ERRORS,
    ImportCheck,
    ImportRejected,
    ImportTooLarge,
    Progress,
    check_upload,
    checked_rows,
    file_size,
    measure_upload,
    no_progress,
    too_large_error,
    unknown_format_error,
)
from annotate.services.import_uploads import discard_upload_of_finished_import
from annotate.services.import_writes import write_instances
from annotate.services.jobs import (
    JobFailed,
    create_job,
    enqueue_job,
    hold_job_claim,
    run_claimed_job,
)

__all__ = [
    "IMPORT_TASK",
    "MAX_REPORTED_ERRORS",
    "ImportCheck",
    "ImportRejected",
    "ImportSummary",
    "ImportTooLarge",
    "RowError",
    "check_upload",
    "import_instances",
    "import_or_enqueue",
    "run_import_job",
    "start_import_job",
]

IMPORT_TASK = "annotate.run_import"
@dataclass(frozen=True)
class ImportSummary:
    created: int
    format: str
    labels_imported: int = 0  # labels the file carried, now imported annotations
    # Answers to questions this campaign's task does not ask, by question key: kept in each
    # label's raw output, not as answers.
    answers_not_in_task: dict[str, int] = field(default_factory=dict)

    def as_result(self) -> dict:
        """What a job's result and the API report: counts, never silently less."""
        return {
            "created": self.created,
            "labels_imported": self.labels_imported,
            "answers_not_in_task": dict(self.answers_not_in_task),
        }


def import_instances(
    *,
    campaign: Campaign,
    data: bytes | None = None,
    file: BinaryIO | None = None,
    file_format: str,
    import_job: JobRun | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Create one Instance (with its Responses) per instance of the file, or nothing.

    The file is ``file`` (a seekable binary file: an upload, a stored file) or ``data``.
    Every row is checked first (:func:`check_upload`): JSON syntax, fields and types, the
    number of responses (exactly 2 when ``campaign`` asks pairwise preferences, 1 or more for
    a rating-only campaign), ids repeated within the file, ids already in ``campaign``. Any
    error raises :class:`ImportRejected` and writes nothing; otherwise the file is read again
    and its rows inserted in batches inside one transaction (COPY on PostgreSQL:
    :mod:`annotate.services.import_writes`), so memory stays flat in the size of the file.
    ``progress`` (e.g. a :class:`~annotate.services.jobs.JobProgress`) hears about the
    checking phase; the write phase is one transaction, whose progress no other
    connection could see anyway. With ``import_job`` (a claimed job) the rows commit only
    while that claim holds; else ``JobLost`` is raised and nothing is written.
    """
    report = progress or no_progress
    source = _as_file(data=data, file=file)
    check = check_upload(campaign=campaign, file=source, file_format=file_format, progress=report)
    if not check.ok:
        raise check.rejection()
    total = check.valid_rows
    report(0, total, f"Writing {total:,} instances")
    try:
        # All rows or none: a failure in any batch must not leave a half-imported file.
        with transaction.atomic():
            created, labels, not_in_task = write_instances(
                campaign=campaign,
                parsed=checked_rows(campaign=campaign, file=source, file_format=file_format),
                import_job=import_job,
            )
            if import_job is not None:
                # A worker that lost the job to another (a takeover) must not commit the
                # rows too: they commit only while this run's claim holds.
                hold_job_claim(job=import_job)
    except IntegrityError:
        # Races are settled by the unique (campaign, external_id) constraint: another
        # import committed some of these ids after our check; checking again names them.
        again = check_upload(campaign=campaign, file=source, file_format=file_format)
        if again.ok:
            raise
        raise again.rejection() from None
    report(created, created, f"Imported {created:,} instances")
    return ImportSummary(
        created=created, format=file_format, labels_imported=labels, answers_not_in_task=dict(not_in_task)
    )


def _as_file(*, data: bytes | None, file: BinaryIO | None) -> BinaryIO:
    if file is not None:
        return file
    return io.BytesIO(data or b"")


@dataclass(frozen=True)
class ImportOutcome:
    """Either the file was imported inside the request (``summary``) or queued (``job``)."""

    summary: ImportSummary | None = None
    job: JobRun | None = None


def import_or_enqueue(
    *,
    campaign: Campaign,
    created_by: AbstractBaseUser | None,
    filename: str,
    file_format: str,
    data: bytes | None = None,
    file: BinaryIO | None = None,
) -> ImportOutcome:
    """The one entry point for uploads (page and API), given ``file`` (an upload) or ``data``:
    files whose content, once decompressed, is over ``IMPORT_INLINE_MAX_BYTES`` become a
    background job, smaller ones import at once. The content is measured first (decompressed
    and its lines counted, nothing parsed), so a file over ``IMPORT_MAX_BYTES`` raises
    ``ImportTooLarge`` and one over ``IMPORT_MAX_DECOMPRESSED_BYTES`` or ``IMPORT_MAX_ROWS``
    (a decompression bomb) ``ImportRejected`` at once, storing nothing; row errors raise
    ``ImportRejected`` with nothing written."""
    source = _as_file(data=data, file=file)
    if get_importer(file_format) is None:
        raise ImportRejected([unknown_format_error(file_format)])
    size = measure_upload(file=source)
    if size.bytes > settings.IMPORT_INLINE_MAX_BYTES:
        job = start_import_job(
            campaign=campaign, created_by=created_by, filename=filename, file=source, file_format=file_format
        )
        return ImportOutcome(job=job)
    summary = import_instances(campaign=campaign, file=source, file_format=file_format)
    return ImportOutcome(summary=summary)


def start_import_job(
    *,
    campaign: Campaign,
    created_by: AbstractBaseUser | None,
    filename: str,
    file_format: str,
    data: bytes | None = None,
    file: BinaryIO | None = None,
) -> JobRun:
    """Store the upload as a file (``ImportUpload.file``, in the default storage under
    ``MEDIA_ROOT``), create an IMPORT JobRun and enqueue ``annotate.run_import``.

    The file is copied in chunks, never held whole in memory. The task is sent only once
    the surrounding transaction commits. An unknown format or an oversized file raises
    :class:`ImportRejected` at once, creating nothing.
    """
    source = _as_file(data=data, file=file)
    if get_importer(file_format) is None:
        raise ImportRejected([unknown_format_error(file_format)])
    size = file_size(source)
    if size > settings.IMPORT_MAX_BYTES:
        raise ImportTooLarge([too_large_error(size, settings.IMPORT_MAX_BYTES)])
    upload = ImportUpload(filename=filename[:255], file_format=file_format, size_bytes=size)
    # Written before the rows: a worker must never claim a job whose file is missing.
    upload.file.save(f"{uuid.uuid4().hex}.upload", File(source), save=False)
    try:
        # The job and its upload row exist together or not at all.
        with transaction.atomic():
            job = create_job(
                kind=JobKind.IMPORT,
                campaign=campaign,
                created_by=created_by,
                params={"filename": filename, "format": file_format, "size_bytes": size},
            )
            upload.job = job
            upload.save()
            enqueue_job(job=job, task_name=IMPORT_TASK)
    except BaseException:
        upload.file.delete(save=False)
        raise
    return job


def run_import_job(*, job_id: int) -> None:
    """Run a queued import job. Idempotent. Once the job is finished (succeeded, refused or
    failed) its stored upload is deleted.

    A job whose instances were already committed (a worker lost after the commit, a
    redelivered message) finishes with the count found instead of importing again.
    Row errors fail the job with ``error_details`` = ``[{"line", "field", "message",
    "text"}, ...]`` (the first ``MAX_REPORTED_ERRORS``; the message counts them all); the
    result of a success is :meth:`ImportSummary.as_result` (a resumed job recounts its
    instances and labels; what its first run kept aside is not recounted:
    ``answers_not_in_task`` is then None and ``resumed`` True).
    """

    def work(job: JobRun, progress: Callable[..., None]) -> dict:
        # An earlier attempt's rows are all there or none are (one transaction): a resumed
        # job recounts them, or imports the whole file.
        already = Instance.objects.filter(import_job=job).count()
        if already:
            labels = Annotation.objects.filter(instance__import_job=job, source=AnnotationSource.IMPORTED).count()
            return {"created": already, "labels_imported": labels, "answers_not_in_task": None, "resumed": True}
        if job.campaign is None:
            raise JobFailed("The import job has no campaign.")
        upload = ImportUpload.objects.get(job=job)
        try:
            with upload.open_content() as content:
                summary = import_instances(
                    campaign=job.campaign,
                    file=content,
                    file_format=upload.file_format,
                    import_job=job,
                    progress=progress,
                )
        except FileNotFoundError:
            raise JobFailed(
                "The uploaded file is missing from the upload storage (MEDIA_ROOT): the worker "
                "must see the same folder as the web process."
            ) from None
        except ImportRejected as exc:
            raise JobFailed(
                exc.summary, details=[error.as_dict() for error in exc.errors]
            ) from None
        return summary.as_result()

    try:
        run_claimed_job(job_id=job_id, work=work)
    finally:
        # Succeeded, refused or failed: the file has served. A job still QUEUED or RUNNING (a
        # live worker holds it, this run lost it, its outcome could not be recorded) keeps it
        # for the run that comes next.
        discard_upload_of_finished_import(job_id=job_id)


