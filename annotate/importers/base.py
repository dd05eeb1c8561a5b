"""What every import format shares: reading a JSON Lines file and the shape of its output.

An importer turns the rows of one file into :class:`ParsedInstance` values or
:class:`RowError` values, never touching the database; ``annotate.services.imports``
tells it how many responses the campaign accepts (:class:`ResponseCount`), checks ids
against the campaign and writes. Each format is one module with one
:class:`Importer` subclass, registered by name in ``annotate.importers``.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import zlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, BinaryIO, ClassVar

GZIP_MAGIC = b"\x1f\x8b"
ROLES = ("system", "user", "assistant")
# Instance.external_id and Response.model_name are CharField(max_length=200).
MAX_ID_LENGTH = 200
MAX_MODEL_NAME_LENGTH = 200
# Deeper JSON is refused: no annotation row needs it, and deep nesting is how parsers are broken.
MAX_JSON_DEPTH = 64
DEFAULT_MODEL_NAME = "unknown"


@dataclass(frozen=True)
class RowError:
    """One problem in an uploaded file.

    ``line`` is 1-based; 0 means the file as a whole. ``field`` is a path into the row
    such as ``responses[1].text``, or "" when the whole line is at fault.
    """

    line: int
    field: str
    message: str

    def __str__(self) -> str:
        if self.line == 0:
            return self.message
        if not self.field:
            return f"line {self.line}: {self.message}"
        return f'line {self.line}, field "{self.field}": {self.message}'

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "message": self.message, "text": str(self)}


class ResponseCount(StrEnum):
    """How many responses one instance may hold; the campaign's task kind decides."""

    # A pairwise judgement compares, and the export writes, exactly two responses: a third
    # would be stored but never shown, judged or exported.
    PAIR = "pair"
    # Ratings are given per response, so a rating-only campaign takes any number from one.
    ONE_OR_MORE = "one_or_more"

    def accepts(self, count: int) -> bool:
        return self.problem(count) is None

    def problem(self, count: int) -> str | None:
        """Why an instance cannot hold ``count`` responses (a row error), or None."""
        if self is ResponseCount.ONE_OR_MORE:
            return None if count >= 1 else f"needs at least 1 response, got {count}"
        if count == 2:
            return None
        noun = "response" if count == 1 else "responses"
        problem = f"{count} {noun}, but this campaign compares exactly 2"
        if count == 1:
            return f"{problem} (add a second response, or import it into a rating campaign)"
        if count > 2:
            return f"{problem} (split the row into pairs, or import it into a rating campaign)"
        return problem


@dataclass(frozen=True)
class ParsedResponse:
    text: str
    model_name: str = DEFAULT_MODEL_NAME


@dataclass(frozen=True)
class ParsedAnswer:
    """One answer of an imported label: a question key, the response position (None for the
    pair) and option codes (or a value, as text, for numeric scales) or free text."""

    question: str
    position: int | None = None
    codes: tuple[str, ...] = ()
    text: str = ""
    field: str = ""  # the column inside the label it came from, for error messages


@dataclass(frozen=True)
class ParsedLabel:
    """A label the source dataset carries, by one of its (pseudonymous) annotators.

    ``field`` is where it sits in the row, for error messages. ``preferred`` is a bare
    direction ("A"/"B" by position) for formats that say only which response won; the import
    service maps it onto the campaign's overall question. ``raw`` is the source record as it
    was, kept whole in the annotation's raw output.
    """

    annotator: str
    field: str
    pool: str = ""
    answers: tuple[ParsedAnswer, ...] = ()
    preferred: str | None = None
    time_spent_seconds: float | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ParsedInstance:
    """One valid row (or, for paired formats, group of rows) ready to become an Instance.

    ``id_field`` names the column that the external id comes from (or is derived from),
    so that duplicate-id errors point at it.
    """

    line: int
    external_id: str
    messages: list[dict[str, str]]
    responses: list[ParsedResponse]
    metadata: dict[str, Any] = field(default_factory=dict)
    id_field: str = "id"
    labels: tuple[ParsedLabel, ...] = ()
    # The optional "check" column (issue 17): makes the item a gold, attention or
    # qualification item with expected answers; checked against the task on import.
    check: Any = None


@dataclass(frozen=True)
class SourceRow:
    """A line of the file that parsed as JSON. ``value`` is whatever JSON value it held."""

    line: int
    value: Any


class FileUnreadable(Exception):
    """The file as a whole cannot be read (bad gzip stream, too large once decompressed, too
    many lines, not JSON Lines at all)."""


# Files that are plainly not JSON Lines, by their first bytes: a file-level error saying what
# they are beats a row error per line.
_NOT_JSON_LINES = (
    (b"\xff\xfe", "is UTF-16 encoded; save it as UTF-8"),
    (b"\xfe\xff", "is UTF-16 encoded; save it as UTF-8"),
    (b"PAR1", "is a Parquet file; imports read JSON Lines (one JSON object per line, optionally gzipped)"),
    (b"PK\x03\x04", "is a ZIP archive (or a spreadsheet); imports read JSON Lines, optionally gzipped"),
)
READ_CHUNK_BYTES = 1024 * 1024


class _BoundedStream:
    """A read-only binary stream over ``raw`` that refuses to yield more than ``max_bytes``
    and turns a broken gzip stream into :class:`FileUnreadable`."""

    def __init__(self, raw: BinaryIO, *, max_bytes: int, gzipped: bool) -> None:
        self._raw = raw
        self._max_bytes = max_bytes
        self._gzipped = gzipped
        self.bytes_read = 0

    def _count(self, chunk: bytes) -> bytes:
        self.bytes_read += len(chunk)
        if self.bytes_read > self._max_bytes:
            raise FileUnreadable(
                f"the file is larger than {self._max_bytes:,} bytes once decompressed; split it up"
            )
        return chunk

    def read(self, size: int = -1) -> bytes:
        try:
            return self._count(self._raw.read(size))
        except (OSError, EOFError, zlib.error) as exc:
            raise self._unreadable(exc) from None

    def readline(self, size: int = -1) -> bytes:
        try:
            return self._count(self._raw.readline(size))
        except (OSError, EOFError, zlib.error) as exc:
            raise self._unreadable(exc) from None

    def _unreadable(self, exc: Exception) -> FileUnreadable:
        if self._gzipped:
            return FileUnreadable(f"the file looks gzip-compressed but cannot be decompressed ({exc})")
        return FileUnreadable(f"the file cannot be read ({exc})")


def open_content(file: BinaryIO, *, max_bytes: int) -> _BoundedStream:
    """The content of ``file`` (rewound first) as a stream: gunzipped as it is read when it
    starts with the gzip magic bytes (the file name is never consulted), never more than
    ``max_bytes`` (a guard against decompression bombs: reading past it raises
    :class:`FileUnreadable`). Raises :class:`FileUnreadable` at once for files that are
    plainly not JSON Lines (UTF-16, Parquet, ZIP)."""
    file.seek(0)
    head = file.read(4)
    file.seek(0)
    gzipped = head.startswith(GZIP_MAGIC)
    raw: BinaryIO = gzip.GzipFile(fileobj=file, mode="rb") if gzipped else file  # type: ignore[assignment]
    stream = _BoundedStream(raw, max_bytes=max_bytes, gzipped=gzipped)
    if gzipped:
        head = stream.read(4)
        raw.seek(0)
        stream.bytes_read = 0
    for magic, what in _NOT_JSON_LINES:
        if head.startswith(magic):
            raise FileUnreadable(f"the file {what}")
    return stream


@dataclass(frozen=True)
class ContentSize:
    bytes: int  # once decompressed
    lines: int


def measure_content(file: BinaryIO, *, max_bytes: int, max_lines: int) -> ContentSize:
    """Decompress ``file`` once, in chunks, counting bytes and lines without parsing anything.

    Raises :class:`FileUnreadable` as soon as the content passes ``max_bytes`` or
    ``max_lines``, so a decompression bomb costs a fraction of a second and one chunk of
    memory instead of a row error per line.
    """
    stream = open_content(file, max_bytes=max_bytes)
    lines = 0
    last = b""
    while chunk := stream.read(READ_CHUNK_BYTES):
        lines += chunk.count(b"\n")
        last = chunk
        if lines > max_lines:
            break
    if last and not last.endswith(b"\n"):
        lines += 1
    if lines > max_lines:
        raise FileUnreadable(
            f"the file has more than {max_lines:,} lines; an import holds at most {max_lines:,} rows: split it up"
        )
    return ContentSize(bytes=stream.bytes_read, lines=lines)


def decompress(data: bytes, *, max_bytes: int) -> bytes:
    """Return the file's bytes, gunzipped when it starts with the gzip magic bytes.

    Raises :class:`FileUnreadable` for a broken gzip stream or one that inflates past
    ``max_bytes``. For small payloads only; imports stream through :func:`open_content`.
    """
    return open_content(io.BytesIO(data), max_bytes=max_bytes).read()


def count_lines(data: bytes) -> int:
    return data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


def iter_raw_lines(stream: BinaryIO | _BoundedStream, *, max_line_bytes: int) -> Iterator[tuple[int, bytes | int]]:
    """``(line number, bytes without the newline)`` per line of ``stream``, or ``(line number,
    length)`` for a line longer than ``max_line_bytes``, which is skipped without ever being
    held whole in memory."""
    line = 0
    while raw := stream.readline(max_line_bytes + 2):
        line += 1
        ended = raw.endswith(b"\n")
        content = raw[:-1] if ended else raw
        if len(content) <= max_line_bytes:
            yield line, content
            continue
        length = len(content)
        while not ended:
            rest = stream.readline(READ_CHUNK_BYTES)
            if not rest:
                break
            ended = rest.endswith(b"\n")
            length += len(rest) - (1 if ended else 0)
        yield line, length


def read_json_lines(
    data: bytes | BinaryIO | _BoundedStream, *, max_line_bytes: int | None = None
) -> Iterator[SourceRow | RowError]:
    """Each non-blank line of ``data`` (bytes, or a binary stream read line by line) as a
    :class:`SourceRow`, or a :class:`RowError`.

    Errors: a line longer than ``max_line_bytes`` (default ``settings.IMPORT_MAX_LINE_BYTES``),
    bytes that are not UTF-8, invalid JSON (including integers too long to convert and
    nesting deeper than :data:`MAX_JSON_DEPTH`), NaN/Infinity (PostgreSQL's jsonb cannot hold
    them), and strings the database cannot store (NUL, lone surrogates). A UTF-8 byte-order
    mark on the first line is ignored.
    """
    if max_line_bytes is None:
        from django.conf import settings

        max_line_bytes = settings.IMPORT_MAX_LINE_BYTES
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    for line, raw in iter_raw_lines(stream, max_line_bytes=max_line_bytes):
        if isinstance(raw, int):
            yield RowError(line, "", f"is {raw:,} bytes long; a line may hold at most {max_line_bytes:,} bytes")
            continue
        if line == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield RowError(line, "", f"is not valid UTF-8 (byte {exc.start + 1})")
            continue
        try:
            value = load_json(text, raw=raw)
        except JsonRefused as exc:
            yield RowError(line, exc.path, exc.message)
            continue
        yield SourceRow(line, value)


class JsonRefused(ValueError):
    """A JSON text that is invalid or holds what the database cannot store: ``message`` says
    why (a row error's message), ``path`` where inside the value ("" for the whole)."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.path = path


def load_json(text: str, *, raw: bytes | None = None) -> Any:
    """The JSON value of ``text``, or :class:`JsonRefused`: invalid JSON (including integers
    too long to convert, numbers too large for a double and nesting deeper than
    :data:`MAX_JSON_DEPTH`), NaN/Infinity (PostgreSQL's jsonb cannot hold them), and strings
    the database cannot store (NUL, lone surrogates). ``raw`` is ``text`` as UTF-8 when the
    caller has it (it spares an encode)."""
    try:
        value = _DECODER.decode(text)
    except _ConstantRejected as exc:
        raise JsonRefused(f"is not valid JSON ({exc.args[0]} is not allowed)") from None
    except json.JSONDecodeError as exc:
        raise JsonRefused(f"is not valid JSON ({exc.msg}; column {exc.colno})") from None
    except RecursionError:
        raise JsonRefused(f"is not valid JSON (nested more than {MAX_JSON_DEPTH} levels deep)") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise JsonRefused(f"is not valid JSON ({exc})") from None
    if raw is None:
        raw = text.encode("utf-8", "surrogatepass")
    # Nesting needs an opening bracket per level, so a line with few of them (nearly every
    # line) need not be walked.
    if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and _depth_exceeds(value, MAX_JSON_DEPTH):
        raise JsonRefused(f"is not valid JSON (nested more than {MAX_JSON_DEPTH} levels deep)")
    if _may_hold_unstorable(raw):
        problem = _unstorable_string(value, "")
        if problem is not None:
            path, what = problem
            raise JsonRefused(f"contains {what}, which the database cannot store", path)
    return value


def _may_hold_unstorable(raw: bytes) -> bool:
    """Whether a JSON line could decode to a string holding NUL or an unpaired surrogate.

    Both can only come from a ``\\u`` escape: the JSON decoder refuses raw control characters
    in strings and the UTF-8 decoder refuses encoded surrogates. So a line without
    ``\\u0000`` or ``\\ud``/``\\uD`` needs no walk (a match, e.g. an escaped backslash before
    "u0000", only costs the walk)."""
    return b"\\u0000" in raw or b"\\ud" in raw or b"\\uD" in raw


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` nests lists/objects more than ``limit`` levels deep (iteratively, so
    a deep value cannot exhaust the stack here either)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


class _ConstantRejected(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _ConstantRejected(name)


def _finite_float(text: str) -> float:
    """A JSON number as a float, refusing the ones too large for a double (``1e400`` would
    be infinity, which jsonb cannot hold, like NaN)."""
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:20]} is too large to store")
    return value


# One decoder for every line: building one per json.loads call with options costs more than
# decoding a short line.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)


def _unstorable_string(value: Any, path: str) -> tuple[str, str] | None:
    """The path of the first string (or key) PostgreSQL cannot store, and why."""
    if isinstance(value, str):
        return _string_problem(value, path)
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _unstorable_string(item, f"{path}[{i}]")
            if found:
                return found
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else key
            found = _string_problem(key, child) or _unstorable_string(item, child)
            if found:
                return found
    return None


def _string_problem(text: str, path: str) -> tuple[str, str] | None:
    if "\x00" in text:
        return path, "a NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return path, "an unpaired surrogate escape"
    return None


class RowChecker:
    """Collects the field errors of one row while reading typed values out of it."""

    def __init__(self, line: int, row: dict[str, Any]) -> None:
        self.line = line
        self.row = row
        self.errors: list[RowError] = []

    def add(self, field: str, message: str) -> None:
        self.errors.append(RowError(self.line, field, message))

    def text(self, key: str, *, required: bool = True, max_length: int = 0) -> str | None:
        """A non-empty string column; None (with an error when required) if missing or wrong."""
        if key not in self.row or self.row[key] is None:
            if required:
                self.add(key, "is required")
            return None
        return self.check_text(self.row[key], key, max_length=max_length)

    def check_text(self, value: Any, field: str, *, max_length: int = 0) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.add(field, "must be a non-empty string")
            return None
        if max_length and len(value) > max_length:
            self.add(field, f"must be at most {max_length} characters")
            return None
        return value

    def identifier(self, key: str) -> str | None:
        """An id column holding a string or an integer, returned as a string."""
        if key not in self.row or self.row[key] is None:
            self.add(key, "is required")
            return None
        value = self.row[key]
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.add(key, "must be a string or an integer")
            return None
        ident = str(value).strip()
        if not ident:
            self.add(key, "must not be empty")
            return None
        if len(ident) > MAX_ID_LENGTH:
            self.add(key, f"must be at most {MAX_ID_LENGTH} characters")
            return None
        return ident

    def model_name(self, key: str) -> str:
        """An optional model-name column; ``"unknown"`` when absent."""
        value = self.text(key, required=False, max_length=MAX_MODEL_NAME_LENGTH)
        return value.strip() if value else DEFAULT_MODEL_NAME


def json_type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def require_object(row: SourceRow) -> dict[str, Any] | RowError:
    if isinstance(row.value, dict):
        return row.value
    return RowError(row.line, "", f"must be a JSON object, not {json_type_name(row.value)}")


class Importer(ABC):
    """One import format: its registry name, a label for forms, and a row parser."""

    name: ClassVar[str]
    label: ClassVar[str]

    @abstractmethod
    def parse(
        self, rows: Iterable[SourceRow], *, response_count: ResponseCount
    ) -> Iterator[ParsedInstance | RowError]:
        """Yield a ParsedInstance per instance and a RowError per problem, in file order.

        Every ParsedInstance holds a number of responses that ``response_count`` accepts; a row
        (or group of rows) that cannot is an error naming its line. Must not touch the
        database; duplicate ids are checked by the caller.
        """


def iter_row_checkers(rows: Iterable[SourceRow]) -> Iterator[RowChecker | RowError]:
    """A checker per JSON-object row; rows that are not objects come out as their error."""
    for row in rows:
        obj = require_object(row)
        yield obj if isinstance(obj, RowError) else RowChecker(row.line, obj)


class RowImporter(Importer):
    """A format with one instance per row."""

    def parse(
        self, rows: Iterable[SourceRow], *, response_count: ResponseCount
    ) -> Iterator[ParsedInstance | RowError]:
        for checker in iter_row_checkers(rows):
            if isinstance(checker, RowError):
                yield checker
                continue
            parsed = self.parse_row(checker, response_count=response_count)
            if checker.errors:
                yield from checker.errors
            elif parsed is not None:
                yield parsed

    @abstractmethod
    def parse_row(self, row: RowChecker, *, response_count: ResponseCount) -> ParsedInstance | None:
        """Read one row; report problems through ``row.add`` (then the result is ignored).

        A format whose rows always hold a pair may ignore ``response_count``: every campaign
        accepts two.
        """
