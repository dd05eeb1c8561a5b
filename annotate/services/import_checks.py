"""Checking an import file without writing anything: every row, then the file as a whole.

The file streams through (:func:`~annotate.importers.base.open_content`): memory holds one
batch of rows, the first errors and a digest per id, never the file. ``annotate.services.imports``
checks with :func:`check_upload` before it writes; the preview shows what it found.
"""

from __future__ import annotations

import hashlib
import heapq
import io
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings

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
from annotate.models import Campaign, Instance
from annotate.services.imported_labels import check_imported_labels
from annotate.services.quality import QualityRejected, check_column_answers
from annotate.services.task_schemas import campaign_schema

# Errors kept for the report (the first ones, in line order); all of them are still counted.
MAX_REPORTED_ERRORS = 1000
# Rows per INSERT batch; also the chunk size of the "id already in the campaign" lookup,
# which stays far below SQLite's limit on query parameters.
BATCH_SIZE = 500
# How often (in lines) the checking phase reports progress.
PROGRESS_EVERY = 200


Progress = Callable[[int, int | None, str], None]


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


def no_progress(done: int, total: int | None = None, message: str = "") -> None:
    pass


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
        raise ImportTooLarge([too_large_error(size, settings.IMPORT_MAX_BYTES)])
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
    report = progress or no_progress
    importer = get_importer(file_format)
    if importer is None:
        return _file_error(unknown_format_error(file_format))
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
                errors.extend(existing_id_errors(campaign=campaign, parsed=batch))
                batch = []
    except FileUnreadable as exc:
        errors.add(RowError(0, "", str(exc)))
    errors.extend(existing_id_errors(campaign=campaign, parsed=batch))

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


def checked_rows(*, campaign: Campaign, file: BinaryIO, file_format: str) -> Iterator[ParsedInstance]:
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


def existing_id_errors(*, campaign: Campaign, parsed: list[ParsedInstance]) -> list[RowError]:
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


class ImportTooLarge(ImportRejected):
    """The upload is over ``IMPORT_MAX_BYTES``; nothing was stored."""


def unknown_format_error(file_format: str) -> RowError:
    known = ", ".join(IMPORT_FORMATS)
    return RowError(0, "", f'unknown format "{file_format}"; use one of: {known}')


def too_large_error(size: int, max_bytes: int) -> RowError:
    return RowError(0, "", f"the file has {size:,} bytes; the limit is {max_bytes:,}")
