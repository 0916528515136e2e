"""Whole rows by one key (a handle, a slug, a page's ids), in SQL written once per model.

Django builds a queryset's SQL again every time one is evaluated: reading a person by
handle with ``filter(handle=h).first()`` took 248 µs of CPU, the same SELECT as a raw
queryset 80, and ``get(handle=h)`` 174 (one process, the bench data, SQLite). A page of
the site made one to three such reads, its largest cost after the template. A raw
queryset still reads from the database the router picks (a replica, for reads), makes
each row with the model's ``from_db`` and converts each column as the ORM does; each read
is still one query.

A list that shows a few fields of many rows (the search page's twenty hits) reads only
those, as named tuples: no model instance per row (:func:`fields_by_pk`).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable
from functools import cache
from typing import Any, NamedTuple, TypeVar

from django.db import connections, models, router

M = TypeVar("M", bound=models.Model)

# Longer lists go the ORM's way, which splits them under the database's parameter limit.
MAX_IDS = 500


def _sql(model: type[models.Model], alias: str, columns: Iterable[str], where: str) -> str:
    """``SELECT <columns> FROM <table> WHERE <where>`` (the condition left open), each
    name quoted for the database."""
    quote = connections[alias].ops.quote_name
    return f"SELECT {', '.join(map(quote, columns))} FROM {quote(model._meta.db_table)} WHERE {quote(where)}"


@cache
def _select(model: type[models.Model], alias: str, field: str) -> str:
    """The SELECT of every column, its condition on ``field``'s column left open."""
    columns = {f.name: f.column for f in model._meta.concrete_fields if f.column}  # a foreign key's id too
    if field not in columns:
        raise ValueError(f"{model.__name__} has no column {field!r}")
    return _sql(model, alias, columns.values(), columns[field])


def row_by(model: type[M], field: str, value: Any) -> M | None:
    """The row whose ``field`` (a unique column) equals ``value``; None when there is none."""
    alias = router.db_for_read(model)
    rows = list(model._default_manager.raw(f"{_select(model, alias, field)} = %s", [value], using=alias))
    return rows[0] if rows else None


def rows_by_pk(model: type[M], pks: Iterable[int]) -> dict[int, M]:
    """The rows with these primary keys, by key (``in_bulk``'s answer); missing ones left out."""
    wanted = list(dict.fromkeys(pks))
    if not wanted:
        return {}
    if len(wanted) > MAX_IDS:
        return model._default_manager.in_bulk(wanted)
    alias = router.db_for_read(model)
    sql = f"{_select(model, alias, model._meta.pk.name)} IN ({', '.join(['%s'] * len(wanted))})"
    return {row.pk: row for row in model._default_manager.raw(sql, wanted, using=alias)}


@cache
def _fields_select(model: type[models.Model], alias: str, fields: tuple[str, ...]) -> tuple[str, type]:
    """The SELECT of the primary key and ``fields``, its condition on the primary key left
    open, and their row type."""
    meta = model._meta
    columns = []
    for name in (meta.pk.name, *fields):
        field = meta.get_field(name)
        if not isinstance(field, models.Field) or field.is_relation or isinstance(field, models.DateTimeField):
            # Read as the database gives it: a relation's id would need its own name, and
            # SQLite gives date-times naive (the ORM makes them aware); dates come as dates.
            raise ValueError(f"{model.__name__}.{name}: only plain columns, no relations or date-times")
        if field.column:
            columns.append(field.column)
    return _sql(model, alias, columns, columns[0]), namedtuple(f"{model.__name__}Fields", ("pk", *fields))


def fields_by_pk(model: type[models.Model], pks: Iterable[int], fields: tuple[str, ...]) -> dict[int, NamedTuple]:
    """``fields`` of the rows with these primary keys, by key, each a named tuple whose
    first field is ``pk``; missing rows left out. Twenty events' slug, name, dates and
    place took 61 µs against 375 for their whole rows (rows_by_pk), measured as above."""
    wanted = list(dict.fromkeys(pks))
    alias = router.db_for_read(model)
    select, row = _fields_select(model, alias, fields)
    found: dict[int, NamedTuple] = {}
    with connections[alias].cursor() as cursor:
        for start in range(0, len(wanted), MAX_IDS):  # under every database's parameter limit
            chunk = wanted[start:start + MAX_IDS]
            cursor.execute(f"{select} IN ({', '.join(['%s'] * len(chunk))})", chunk)
            found.update((values[0], row(*values)) for values in cursor.fetchall())
    return found
