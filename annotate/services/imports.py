"""Importing instances from an uploaded file: check every row, then write all or nothing.

Three interfaces reach this module: the PM upload page and the API (a small file is
imported in the request through :func:`import_instances`, a large one becomes a job
through :func:`start_import_job`), the Celery task ``annotate.run_import`` (through
:func:`run_import_job`) and the ``import_instances`` management command.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from annotate.importers import IMPORT_FORMATS, get_importer
from annotate.importers.base import (
    FileUnreadable,
    ParsedInstance,
    ResponseCount,
    RowError,
    SourceRow,
    count_lines,
    decompress,
    read_json_lines,
)
from annotate.models import (
    Annotation,
    AnnotationSource,
    Campaign,
    GoldAnswer,
    ImportUpload,
    Instance,
    JobKind,
    JobRun,
    QueueItem,
    QueueItemKind,
    Response,
)
from annotate.services.imported_labels import (
    check_imported_labels,
    insert_imported_labels,
    write_imported_labels,
)
from annotate.services.jobs import (
    JobFailed,
    create_job,
    enqueue_job,
    hold_job_claim,
    run_claimed_job,
)
from annotate.services.quality import CHECK_ITEM_OVERLAP, QualityRejected, check_column_answers
from annotate.services.task_schemas import campaign_schema

__all__ = [
    "IMPORT_TASK",
    "ImportRejected",
    "ImportSummary",
    "RowError",
    "import_instances",
    "run_import_job",
    "start_import_job",
]

IMPORT_TASK = "annotate.run_import"
# Errors kept for the report; all of them are still counted.
MAX_REPORTED_ERRORS = 200
# Rows per INSERT batch; also the chunk size of the "id already in the campaign" lookup,
# which stays far below SQLite's limit on query parameters.
BATCH_SIZE = 500
# How often (in lines) the checking phase reports progress.
PROGRESS_EVERY = 200

Progress = Callable[[int, int | None, str], None]


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


class ImportRejected(Exception):
    """The file has errors, so nothing was written.

    ``errors`` holds at most ``MAX_REPORTED_ERRORS`` errors in line order;
    ``total_errors`` counts all of them.
    """

    def __init__(self, errors: list[RowError], total_errors: int | None = None) -> None:
        self.errors = sorted(errors, key=lambda e: e.line)[:MAX_REPORTED_ERRORS]
        self.total_errors = len(errors) if total_errors is None else total_errors
        super().__init__(self.summary)

    @property
    def summary(self) -> str:
        noun = "error" if self.total_errors == 1 else "errors"
        shown = (
            f" (the first {len(self.errors)} are listed)"
            if len(self.errors) < self.total_errors
            else ""
        )
        return f"The file has {self.total_errors:,} {noun}{shown}; nothing was imported."


def _no_progress(done: int, total: int | None = None, message: str = "") -> None:
    pass


def import_instances(
    *,
    campaign: Campaign,
    data: bytes,
    file_format: str,
    import_job: JobRun | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Create one Instance (with its Responses) per instance in ``data``, or nothing.

    Every row is checked first: JSON syntax, fields and types, the number of responses
    (exactly 2 when ``campaign`` asks pairwise preferences, 1 or more for a rating-only
    campaign), ids repeated within the file, ids already in ``campaign``. Any error
    raises :class:`ImportRejected` and writes nothing; otherwise all rows are inserted in
    one transaction. ``progress`` (e.g. a :class:`~annotate.services.jobs.JobProgress`)
    hears about the checking phase; the write phase is one transaction, whose progress
    no other connection could see anyway. With ``import_job`` (a claimed job) the rows
    commit only while that claim holds; else ``JobLost`` is raised and nothing is written.
    """
    report = progress or _no_progress
    parsed = check_file(campaign=campaign, data=data, file_format=file_format, progress=report)
    total = len(parsed)
    report(0, total, f"Writing {total:,} instances")
    try:
        # All rows or none: a failure in any batch must not leave a half-imported file.
        with transaction.atomic():
            labels, not_in_task = _write_instances(campaign=campaign, parsed=parsed, import_job=import_job)
            if import_job is not None:
                # A worker that lost the job to another (a takeover) must not commit the
                # rows too: they commit only while this run's claim holds.
                hold_job_claim(job=import_job)
    except IntegrityError:
        # Races are settled by the unique (campaign, external_id) constraint: another
        # import committed some of these ids after our check.
        errors = _existing_id_errors(campaign=campaign, parsed=parsed)
        if not errors:
            raise
        raise ImportRejected(errors) from None
    report(total, total, f"Imported {total:,} instances")
    return ImportSummary(
        created=total, format=file_format, labels_imported=labels, answers_not_in_task=dict(not_in_task)
    )


def check_file(
    *, campaign: Campaign, data: bytes, file_format: str, progress: Progress | None = None
) -> list[ParsedInstance]:
    """Parse and check every row without writing; raise :class:`ImportRejected` on errors."""
    parsed, errors = check_rows(campaign=campaign, data=data, file_format=file_format, progress=progress)
    if errors:
        raise ImportRejected(errors)
    return parsed


def check_rows(
    *, campaign: Campaign, data: bytes, file_format: str, progress: Progress | None = None
) -> tuple[list[ParsedInstance], list[RowError]]:
    """Parse and check every row without writing: the valid rows and every error.

    A problem with the file as a whole (unknown format, too large, unreadable, empty) is one
    error on line 0 and no rows. Reads nothing beyond ``data``; writes nothing.
    """
    report = progress or _no_progress
    importer = get_importer(file_format)
    if importer is None:
        return [], [_unknown_format_error(file_format)]
    max_bytes = settings.IMPORT_MAX_BYTES
    if len(data) > max_bytes:
        return [], [_too_large_error(len(data), max_bytes)]
    try:
        text = decompress(data, max_bytes=max_bytes)
    except FileUnreadable as exc:
        return [], [RowError(0, "", str(exc))]

    total_lines = count_lines(text)
    errors: list[RowError] = []
    parsed: list[ParsedInstance] = []
    first_line_of_id: dict[str, int] = {}

    def good_rows() -> Iterable[SourceRow]:
        for count, item in enumerate(read_json_lines(text), start=1):
            if count % PROGRESS_EVERY == 0:
                report(item.line, total_lines, f"Checked {item.line:,} of {total_lines:,} lines")
            if isinstance(item, RowError):
                errors.append(item)
            else:
                yield item

    for item in importer.parse(good_rows(), response_count=response_count_for(campaign=campaign)):
        if isinstance(item, RowError):
            errors.append(item)
            continue
        first_line = first_line_of_id.setdefault(item.external_id, item.line)
        if first_line != item.line:
            errors.append(
                RowError(
                    item.line,
                    item.id_field,
                    f'duplicate id "{item.external_id}" (first on line {first_line})',
                )
            )
            continue
        parsed.append(item)

    if not parsed and not errors:
        return [], [RowError(0, "", "the file contains no rows")]
    schema = campaign_schema(campaign)
    for item in parsed:
        if item.labels:
            errors.extend(check_imported_labels(schema=schema, item=item).errors)
        if item.check is not None:
            try:
                check_column_answers(schema=schema, value=item.check)
            except QualityRejected as exc:
                errors.append(RowError(item.line, "check", str(exc)))
    errors.extend(_existing_id_errors(campaign=campaign, parsed=parsed))
    report(total_lines, total_lines, f"Checked {total_lines:,} lines")
    return parsed, errors


def response_count_for(*, campaign: Campaign) -> ResponseCount:
    """How many responses an instance of ``campaign`` may hold."""
    # A pairwise judgement (and the DPO export) sees only two responses; rating is per response.
    compares_pairs = campaign_schema(campaign).compares_pairs
    return ResponseCount.PAIR if compares_pairs else ResponseCount.ONE_OR_MORE


def _existing_id_errors(*, campaign: Campaign, parsed: list[ParsedInstance]) -> list[RowError]:
    existing: set[str] = set()
    for start in range(0, len(parsed), BATCH_SIZE):
        chunk = [item.external_id for item in parsed[start : start + BATCH_SIZE]]
        existing.update(
            Instance.objects.filter(campaign=campaign, external_id__in=chunk).values_list(
                "external_id", flat=True
            )
        )
    return [
        RowError(
            item.line, item.id_field, f'id "{item.external_id}" already exists in this campaign'
        )
        for item in parsed
        if item.external_id in existing
    ]


def _write_instances(
    *, campaign: Campaign, parsed: list[ParsedInstance], import_job: JobRun | None
) -> tuple[int, Counter]:
    """Insert the instances, their responses, queue items and imported labels; returns how
    many labels were imported and the answers the task had no question for."""
    schema = campaign_schema(campaign)
    labels_imported = 0
    not_in_task: Counter = Counter()
    for start in range(0, len(parsed), BATCH_SIZE):
        batch = parsed[start : start + BATCH_SIZE]
        instances = Instance.objects.bulk_create(
            [
                Instance(
                    campaign=campaign,
                    external_id=item.external_id,
                    messages=item.messages,
                    metadata=item.metadata,
                    import_job=import_job,
                )
                for item in batch
            ]
        )
        if any(instance.pk is None for instance in instances):
            # Backends that cannot return ids from a bulk INSERT: look them up.
            pks = dict(
                Instance.objects.filter(
                    campaign=campaign, external_id__in=[item.external_id for item in batch]
                ).values_list("external_id", "pk")
            )
            for instance in instances:
                instance.pk = pks[instance.external_id]
        Response.objects.bulk_create(
            [
                Response(
                    instance=instance,
                    position=position,
                    model_name=response.model_name,
                    text=response.text,
                )
                for instance, item in zip(instances, batch, strict=False)
                for position, response in enumerate(item.responses)
            ],
            batch_size=BATCH_SIZE,
        )
        golds = []
        items = []
        for instance, item in zip(instances, batch, strict=True):
            kind, overlap = QueueItemKind.REGULAR, campaign.overlap
            if item.check is not None:
                kind, expected = check_column_answers(schema=schema, value=item.check)
                overlap = CHECK_ITEM_OVERLAP
                for gold in expected:
                    gold.instance = instance
                golds += expected
            items.append(QueueItem(campaign=campaign, instance=instance, kind=kind, required_overlap=overlap))
        QueueItem.objects.bulk_create(items)
        GoldAnswer.objects.bulk_create(golds)
        pending = []
        for instance, item in zip(instances, batch, strict=True):
            if not item.labels:
                continue
            check = check_imported_labels(schema=schema, item=item)
            not_in_task.update(check.not_in_task)
            pending += write_imported_labels(
                campaign=campaign, schema=schema, instance_id=instance.pk, labels=check.labels
            )
        labels_imported += insert_imported_labels(pending, batch_size=BATCH_SIZE)
    return labels_imported, not_in_task


class ImportTooLarge(ImportRejected):
    """The upload is over ``IMPORT_MAX_BYTES``; nothing was stored."""


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
    data: bytes,
    file_format: str,
) -> ImportOutcome:
    """The one entry point for uploads (page and API): small files import at once, files over
    ``IMPORT_INLINE_MAX_BYTES`` become a background job. Raises ``ImportTooLarge`` over
    ``IMPORT_MAX_BYTES`` and ``ImportRejected`` (nothing written) on row errors."""
    if len(data) > settings.IMPORT_MAX_BYTES:
        raise ImportTooLarge([_too_large_error(len(data), settings.IMPORT_MAX_BYTES)])
    if len(data) > settings.IMPORT_INLINE_MAX_BYTES:
        job = start_import_job(
            campaign=campaign,
            created_by=created_by,
            filename=filename,
            data=data,
            file_format=file_format,
        )
        return ImportOutcome(job=job)
    summary = import_instances(campaign=campaign, data=data, file_format=file_format)
    return ImportOutcome(summary=summary)


def start_import_job(
    *,
    campaign: Campaign,
    created_by: AbstractBaseUser | None,
    filename: str,
    data: bytes,
    file_format: str,
) -> JobRun:
    """Store the upload, create an IMPORT JobRun and enqueue ``annotate.run_import``.

    The task is sent only once the surrounding transaction commits. An unknown format
    or an oversized file raises :class:`ImportRejected` at once, creating nothing.
    """
    if get_importer(file_format) is None:
        raise ImportRejected([_unknown_format_error(file_format)])
    if len(data) > settings.IMPORT_MAX_BYTES:
        raise ImportRejected([_too_large_error(len(data), settings.IMPORT_MAX_BYTES)])
    # The job and its upload exist together or not at all: a worker must never claim a
    # job whose file is missing.
    with transaction.atomic():
        job = create_job(
            kind=JobKind.IMPORT,
            campaign=campaign,
            created_by=created_by,
            params={"filename": filename, "format": file_format, "size_bytes": len(data)},
        )
        ImportUpload.objects.create(
            job=job,
            filename=filename[:255],
            file_format=file_format,
            content=data,
            size_bytes=len(data),
        )
        enqueue_job(job=job, task_name=IMPORT_TASK)
    return job


def run_import_job(*, job_id: int) -> None:
    """Run a queued import job. Idempotent.

    A job whose instances were already committed (a worker lost after the commit, a
    redelivered message) finishes with the count found instead of importing again.
    Row errors fail the job with ``error_details`` = ``[{"line", "field", "message",
    "text"}, ...]``; the result of a success is :meth:`ImportSummary.as_result` (a resumed
    job recounts its instances and labels; what its first run kept aside is not recounted:
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
            summary = import_instances(
                campaign=job.campaign,
                # PostgreSQL hands BinaryField back as a memoryview.
                data=bytes(upload.content),
                file_format=upload.file_format,
                import_job=job,
                progress=progress,
            )
        except ImportRejected as exc:
            raise JobFailed(
                exc.summary, details=[error.as_dict() for error in exc.errors]
            ) from None
        return summary.as_result()

    run_claimed_job(job_id=job_id, work=work)


def _unknown_format_error(file_format: str) -> RowError:
    known = ", ".join(IMPORT_FORMATS)
    return RowError(0, "", f'unknown format "{file_format}"; use one of: {known}')


def _too_large_error(size: int, max_bytes: int) -> RowError:
    return RowError(0, "", f"the file has {size:,} bytes; the limit is {max_bytes:,}")
