"""Inserting many rows at once with PostgreSQL's COPY (through psycopg 3).

An import writes three rows or more per instance; ``bulk_create`` builds a model object and
a multi-row INSERT statement for each of them, which measured at 4,300 instances/s, most of
it in Django's per-object machinery and in parsing the SQL on the server. COPY streams the
values themselves. Callers keep ``bulk_create`` on other databases (the embedded SQLite
mode): :func:`copy_supported` says which applies.

Only the columns a caller names get per-row values; every other concrete column gets the
value ``bulk_create`` would have stored for an object that does not set it (its default,
or the current time for ``auto_now``/``auto_now_add``), prepared once per call. An omitted
primary key takes the database's identity default.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models
from django.utils import timezone

__all__ = ["copy_rows", "copy_supported", "reserve_ids"]


def copy_supported() -> bool:
    """Whether the default database takes :func:`copy_rows` (PostgreSQL)."""
    return connection.vendor == "postgresql"


def reserve_ids(*, model: type[models.Model], count: int) -> list[int]:
    """``count`` fresh primary keys of ``model``'s table, ascending, taken from its sequence
    (so rows COPYed with them never collide with rows inserted otherwise)."""
    if count <= 0:
        return []
    table = model._meta.db_table
    column = model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)::regclass) FROM generate_series(1, %s)",
            [connection.ops.quote_name(table), column, count],
        )
        return sorted(row[0] for row in cursor.fetchall())


def copy_rows(*, model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """COPY ``rows`` into ``model``'s table; each row holds the values of ``columns`` (field
    attnames, e.g. ``instance_id``) in that order, already as the database stores them (JSON
    as its text, foreign keys as ids). Text may hold anything PostgreSQL stores (tabs,
    newlines, backslashes: psycopg escapes them); NUL characters are refused by the caller's
    checks beforehand. Errors come out as Django's (``IntegrityError`` for a unique
    violation), inside the caller's transaction."""
    opts = model._meta
    by_attname = {f.attname: f for f in opts.concrete_fields}
    unknown = [name for name in columns if name not in by_attname]
    if unknown:
        raise ValueError(f"{opts.label} has no columns {unknown}")
    constants = _constant_columns(model=model, given=set(columns))
    names = [by_attname[name].column for name in columns] + [column for column, _ in constants]
    tail = tuple(value for _, value in constants)
    quote = connection.ops.quote_name
    statement = f"COPY {quote(opts.db_table)} ({', '.join(quote(n) for n in names)}) FROM STDIN"
    # Django maps driver errors to its own only around execute(); COPY bypasses that.
    with connection.wrap_database_errors, connection.cursor() as cursor, cursor.copy(statement) as copy:
        if tail:
            for row in rows:
                copy.write_row((*row, *tail))
        else:
            for row in rows:
                copy.write_row(row)


def _constant_columns(*, model: type[models.Model], given: set[str]) -> list[tuple[str, Any]]:
    """``(column, value)`` for the concrete fields not in ``given`` (the primary key aside):
    what ``bulk_create`` would store for an object leaving them unset."""
    now = timezone.now()
    constants = []
    for f in model._meta.concrete_fields:
        if f.attname in given or f.primary_key:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            value: Any = now
        else:
            value = f.get_default()
        constants.append((f.column, f.get_db_prep_save(value, connection)))
    return constants
