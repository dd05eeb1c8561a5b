"""Importing instances from an uploaded file: check every row, then write all or nothing.

Three interfaces reach this module: the PM upload page and the API (a small file is
imported in the request through :func:`import_instances`, a large one becomes a job
through :func:`start_import_job`), the Celery task ``annotate.run_import`` (through
:func:`run_import_job`) and the ``import_instances`` management command.
"""

from __future__ import annotations

import hashlib
import heapq
import io
import uuid
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.db import IntegrityError, transaction

from annotate.importers import IMPORT_FORMATS, get_importer
from annotate.importers.base import (
    ContentSize,
    FileUnreadable,
    ParsedInstance,
    ResponseCount,
    RowError,
    SourceRow,
    measure_content,
    open_content,
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
    "ImportCheck",
    "ImportRejected",
    "ImportSummary",
    "RowError",
    "check_upload",
    "import_instances",
    "import_or_enqueue",
    "run_import_job",
    "start_import_job",
]

IMPORT_TASK = "annotate.run_import"
# Errors kept for the report (the first ones, in line order); all of them are still counted.
MAX_REPORTED_ERRORS = 1000
# Rows per INSERT batch; also the chunk size of the "id already in the campaign" lookup,
# which stays far below SQLite's limit on query parameters.
BATCH_SIZE = 500
# How often (in lines) the checking phase reports progress.
PROGRESS_EVERY = 200
# Rows the preview shows.
FIRST_ROWS_KEPT = 10

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
    def more_errors(self) -> int:
        """Errors counted but not listed."""
        return self.total_errors - len(self.errors)

    @property
    def summary(self) -> str:
        noun = "error" if self.total_errors == 1 else "errors"
        shown = (
            f" (the first {len(self.errors):,} are listed, and {self.more_errors:,} more)"
            if self.more_errors
            else ""
        )
        return f"The file has {self.total_errors:,} {noun}{shown}; nothing was imported."


@dataclass(frozen=True)
class ImportCheck:
    """What checking a whole file found, in memory that does not grow with the file: counts,
    its first valid rows, its first errors in line order and how many errors there are."""

    lines: int
    valid_rows: int  # rows that parsed, less repeats of an earlier id
    labels: int  # labels carried by those rows
    first_rows: tuple[ParsedInstance, ...]
    errors: tuple[RowError, ...]  # at most MAX_REPORTED_ERRORS
    total_errors: int

    @property
    def ok(self) -> bool:
        return self.total_errors == 0

    @property
    def more_errors(self) -> int:
        return self.total_errors - len(self.errors)

    def rejection(self) -> ImportRejected:
        return ImportRejected(list(self.errors), self.total_errors)


def _no_progress(done: int, total: int | None = None, message: str = "") -> None:
    pass


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
    and its rows inserted in batches inside one transaction, so memory stays flat in the size
    of the file. ``progress`` (e.g. a :class:`~annotate.services.jobs.JobProgress`) hears
    about the checking phase; the write phase is one transaction, whose progress no other
    connection could see anyway. With ``import_job`` (a claimed job) the rows commit only
    while that claim holds; else ``JobLost`` is raised and nothing is written.
    """
    report = progress or _no_progress
    source = _as_file(data=data, file=file)
    check = check_upload(campaign=campaign, file=source, file_format=file_format, progress=report)
    if not check.ok:
        raise check.rejection()
    total = check.valid_rows
    report(0, total, f"Writing {total:,} instances")
    try:
        # All rows or none: a failure in any batch must not leave a half-imported file.
        with transaction.atomic():
            created, labels, not_in_task = _write_instances(
                campaign=campaign,
                parsed=_checked_rows(campaign=campaign, file=source, file_format=file_format),
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


def file_size(file: BinaryIO) -> int:
    """Bytes in a seekable ``file`` (as stored, before any decompression); rewinds it."""
    file.seek(0, io.SEEK_END)
    size = file.tell()
    file.seek(0)
    return size


def measure_upload(*, file: BinaryIO) -> ContentSize:
    """Size and line count of the upload once decompressed, without parsing it; raises
    :class:`ImportRejected` (one file-level error) when it is over ``IMPORT_MAX_BYTES``,
    ``IMPORT_MAX_DECOMPRESSED_BYTES`` or ``IMPORT_MAX_ROWS``, or unreadable."""
    size = file_size(file)
    if size > settings.IMPORT_MAX_BYTES:
        raise ImportTooLarge([_too_large_error(size, settings.IMPORT_MAX_BYTES)])
    try:
        return measure_content(
            file, max_bytes=settings.IMPORT_MAX_DECOMPRESSED_BYTES, max_lines=settings.IMPORT_MAX_ROWS
        )
    except FileUnreadable as exc:
        raise ImportRejected([RowError(0, "", str(exc))]) from None


class _ErrorReport:
    """The first ``keep`` errors by line (in file order within a line) and a count of all."""

    def __init__(self, keep: int = MAX_REPORTED_ERRORS) -> None:
        self._keep = keep
        self._heap: list[tuple[int, int, RowError]] = []  # a max-heap on (line, order)
        self.total = 0

    def add(self, error: RowError) -> None:
        self.total += 1
        entry = (-error.line, -self.total, error)
        if len(self._heap) < self._keep:
            heapq.heappush(self._heap, entry)
        elif entry > self._heap[0]:
            heapq.heapreplace(self._heap, entry)

    def extend(self, errors: Iterable[RowError]) -> None:
        for error in errors:
            self.add(error)

    def count_unlisted(self, n: int) -> None:
        """Count ``n`` errors known to come after every listed one."""
        self.total += n

    def listed(self) -> tuple[RowError, ...]:
        return tuple(entry[2] for entry in sorted(self._heap, reverse=True))


class _IdRegistry:
    """Every id of the file as a 16-byte digest beside its line: 24 bytes a row however long
    the ids, so finding repeats in a million-row file costs 24 MB rather than a dict of
    strings. (A digest collision, about 1 in 10^26 for a million rows, would report a repeat
    that is not one; it could never hide one.)"""

    def __init__(self) -> None:
        self._digests = bytearray()
        self._lines = array("Q")

    def add(self, *, external_id: str, line: int) -> None:
        self._digests += hashlib.blake2b(external_id.encode(), digest_size=16).digest()
        self._lines.append(line)

    def repeats(self, *, limit: int) -> tuple[list[tuple[int, int]], int]:
        """``(line, first line of that id)`` for the first ``limit`` rows (by line) whose id an
        earlier row has, and how many such rows there are in all."""
        count = len(self._lines)
        if count < 2:
            return [], 0
        import numpy as np

        keys = np.frombuffer(self._digests, dtype=np.uint64).reshape(count, 2)
        lines = np.frombuffer(self._lines, dtype=np.uint64)
        # By id, then by line: the first row of each run of equal ids is the original.
        order = np.lexsort((lines, keys[:, 1], keys[:, 0]))
        sorted_keys, sorted_lines = keys[order], lines[order]
        is_repeat = np.zeros(count, dtype=bool)
        is_repeat[1:] = (sorted_keys[1:] == sorted_keys[:-1]).all(axis=1)
        total = int(is_repeat.sum())
        if not total:
            return [], 0
        run_start = np.maximum.accumulate(np.where(is_repeat, 0, np.arange(count)))
        repeat_lines = sorted_lines[is_repeat]
        first_lines = sorted_lines[run_start][is_repeat]
        pick = np.argsort(repeat_lines, kind="stable")[:limit]
        return list(zip(repeat_lines[pick].tolist(), first_lines[pick].tolist(), strict=True)), total


def check_upload(
    *,
    campaign: Campaign,
    file: BinaryIO,
    file_format: str,
    progress: Progress | None = None,
    keep_rows: int = 0,
) -> ImportCheck:
    """Parse and check every row of ``file`` without writing (what an import checks).

    Streams the file: memory holds one batch of rows, the first ``keep_rows`` valid rows,
    the first ``MAX_REPORTED_ERRORS`` errors and a digest per id, whatever the file's size.
    A problem with the file as a whole (unknown format, too large, too many lines, a
    decompression bomb, unreadable, empty) is one error on line 0 and no rows.
    """
    report = progress or _no_progress
    importer = get_importer(file_format)
    if importer is None:
        return _file_error(_unknown_format_error(file_format))
    try:
        size = measure_upload(file=file)
    except ImportRejected as exc:
        return _file_error(exc.errors[0])
    total_lines = size.lines
    errors = _ErrorReport()
    schema = campaign_schema(campaign)
    ids = _IdRegistry()
    first_rows: list[ParsedInstance] = []
    batch: list[ParsedInstance] = []
    parsed = labels = 0

    def source_rows(stream) -> Iterable[SourceRow]:
        for count, item in enumerate(read_json_lines(stream), start=1):
            if count % PROGRESS_EVERY == 0:
                report(item.line, total_lines, f"Checked {item.line:,} of {total_lines:,} lines")
            if isinstance(item, RowError):
                errors.add(item)
            else:
                yield item

    try:
        stream = open_content(file, max_bytes=settings.IMPORT_MAX_DECOMPRESSED_BYTES)
        for item in importer.parse(source_rows(stream), response_count=response_count_for(campaign=campaign)):
            if isinstance(item, RowError):
                errors.add(item)
                continue
            parsed += 1
            labels += len(item.labels)
            ids.add(external_id=item.external_id, line=item.line)
            if item.labels:
                errors.extend(check_imported_labels(schema=schema, item=item).errors)
            if item.check is not None:
                try:
                    check_column_answers(schema=schema, value=item.check)
                except QualityRejected as exc:
                    errors.add(RowError(item.line, "check", str(exc)))
            if len(first_rows) < 2 * keep_rows:
                first_rows.append(item)
            batch.append(item)
            if len(batch) == BATCH_SIZE:
                errors.extend(_existing_id_errors(campaign=campaign, parsed=batch))
                batch = []
    except FileUnreadable as exc:
        errors.add(RowError(0, "", str(exc)))
    errors.extend(_existing_id_errors(campaign=campaign, parsed=batch))

    # Only the repeats that can be listed are named (which needs their ids, read again);
    # the rest come after MAX_REPORTED_ERRORS errors and are only counted.
    named, repeat_count = ids.repeats(limit=MAX_REPORTED_ERRORS)
    if named:
        id_at = _ids_at_lines(
            importer=importer, campaign=campaign, file=file, lines={line for line, _ in named}
        )
        for line, first_line in named:
            # Missing only if the file changed between the two reads: still an error on that line.
            id_field, external_id = id_at.get(line, ("id", "?"))
            errors.add(RowError(line, id_field, f'duplicate id "{external_id}" (first on line {first_line})'))
        errors.count_unlisted(repeat_count - len(named))
    repeated = {line for line, _ in named}
    if parsed == 0 and errors.total == 0:
        return _file_error(RowError(0, "", "the file contains no rows"))
    report(total_lines, total_lines, f"Checked {total_lines:,} lines")
    return ImportCheck(
        lines=total_lines,
        valid_rows=parsed - repeat_count,
        labels=labels,
        first_rows=tuple(item for item in first_rows if item.line not in repeated)[:keep_rows],
        errors=errors.listed(),
        total_errors=errors.total,
    )


def _file_error(error: RowError) -> ImportCheck:
    return ImportCheck(lines=0, valid_rows=0, labels=0, first_rows=(), errors=(error,), total_errors=1)


def _ids_at_lines(
    *, importer, campaign: Campaign, file: BinaryIO, lines: set[int]
) -> dict[int, tuple[str, str]]:
    """``line -> (id field, id)`` for the parsed rows at ``lines``, reading the file again."""
    found: dict[int, tuple[str, str]] = {}
    stream = open_content(file, max_bytes=settings.IMPORT_MAX_DECOMPRESSED_BYTES)
    rows = (item for item in read_json_lines(stream) if isinstance(item, SourceRow))
    for item in importer.parse(rows, response_count=response_count_for(campaign=campaign)):
        if isinstance(item, ParsedInstance) and item.line in lines:
            found[item.line] = (item.id_field, item.external_id)
    return found


def _checked_rows(*, campaign: Campaign, file: BinaryIO, file_format: str) -> Iterator[ParsedInstance]:
    """The rows of a file that :func:`check_upload` passed, parsed again one at a time. A
    row error now means the file changed since: the import is rejected (inside its
    transaction, so nothing is written)."""
    importer = get_importer(file_format)
    assert importer is not None  # checked before
    stream = open_content(file, max_bytes=settings.IMPORT_MAX_DECOMPRESSED_BYTES)
    for item in importer.parse(read_json_lines(stream), response_count=response_count_for(campaign=campaign)):  # type: ignore[arg-type]
        if isinstance(item, RowError):
            raise ImportRejected([item])
        yield item


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
    *, campaign: Campaign, parsed: Iterable[ParsedInstance], import_job: JobRun | None
) -> tuple[int, int, Counter]:
    """Insert the instances, their responses, queue items and imported labels, a batch at a
    time; returns how many instances and labels were written and the answers the task had
    no question for. The caller owns the transaction."""
    schema = campaign_schema(campaign)
    created = labels_imported = 0
    not_in_task: Counter = Counter()
    for batch in _batches(parsed, BATCH_SIZE):
        created += len(batch)
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
    return created, labels_imported, not_in_task


def _batches(items: Iterable[ParsedInstance], size: int) -> Iterator[list[ParsedInstance]]:
    batch: list[ParsedInstance] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


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
        raise ImportRejected([_unknown_format_error(file_format)])
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
        raise ImportRejected([_unknown_format_error(file_format)])
    size = file_size(source)
    if size > settings.IMPORT_MAX_BYTES:
        raise ImportTooLarge([_too_large_error(size, settings.IMPORT_MAX_BYTES)])
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
    """Run a queued import job. Idempotent.

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

    run_claimed_job(job_id=job_id, work=work)


def _unknown_format_error(file_format: str) -> RowError:
    known = ", ".join(IMPORT_FORMATS)
    return RowError(0, "", f'unknown format "{file_format}"; use one of: {known}')


def _too_large_error(size: int, max_bytes: int) -> RowError:
    return RowError(0, "", f"the file has {size:,} bytes; the limit is {max_bytes:,}")
