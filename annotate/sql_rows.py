"""Model instances from hand-written SQL, for the few reads of the annotator's hot path.

Building and compiling an ORM query costs about 1 ms of CPU (a queryset clone per filter, a
join set-up per lookup, a compiler pass), against about 0.05 ms for executing the statement
itself; the workspace runs a dozen such reads per call (bench/RESULTS.md, issue 18). The
selectors of that path keep their SQL as fixed strings and read rows through this module:
the column list and the value converters of each model are worked out once per process from
the model's own metadata, so the SQL follows the model's fields, and rows come back as the
model instances (and ``select_related`` caches) the ORM would have built.

Only for fixed-shape reads whose results are tested against the ORM's; everything else stays
in the ORM.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

from django.db import connection
from django.db.models import Model


@dataclass(frozen=True)
class ModelColumns:
    """One model's concrete columns, in the order ``Model.from_db`` takes them."""

    model: type[Model]
    columns: tuple[str, ...]
    attnames: tuple[str, ...]
    converters: tuple[tuple[int, tuple[Callable, ...], Any], ...]  # (index, converters, expression)

    def select(self, alias: str) -> str:
        """``alias."col1", alias."col2", ...`` for a SELECT list."""
        quote = connection.ops.quote_name
        return ", ".join(f"{alias}.{quote(column)}" for column in self.columns)

    def instance(self, row, start: int = 0) -> Model | None:
        """The instance in ``row[start:start + len(columns)]``; None for a LEFT JOIN's empty
        side (a null primary key)."""
        values = list(row[start : start + len(self.columns)])
        if values[0] is None:
            return None
        for index, converters, expression in self.converters:
            value = values[index]
            for convert in converters:
                value = convert(value, expression, connection)
            values[index] = value
        return self.model.from_db(connection.alias, self.attnames, values)

    def __len__(self) -> int:
        return len(self.columns)


@lru_cache(maxsize=None)
def columns_of(model: type[Model]) -> ModelColumns:
    """The columns of ``model`` (primary key first, as ``_meta.concrete_fields`` lists it)."""
    fields = model._meta.concrete_fields
    converters = []
    for index, field in enumerate(fields):
        expression = field.get_col(model._meta.db_table)
        found = (*connection.ops.get_db_converters(expression), *expression.get_db_converters(connection))
        if found:
            converters.append((index, tuple(found), expression))
    assert fields[0].primary_key, model
    return ModelColumns(
        model=model,
        columns=tuple(field.column for field in fields),
        attnames=tuple(field.attname for field in fields),
        converters=tuple(converters),
    )


def table_of(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def attach_related(instance: Model, name: str, related: Model | None) -> None:
    """Cache ``related`` as ``instance.<name>`` (a forward or reverse one-to-one / foreign
    key), as ``select_related(name)`` would."""
    field = instance._meta.get_field(name)
    field.set_cached_value(instance, related)
