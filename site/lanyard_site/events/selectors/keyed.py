"""Whole rows by one key (a handle, a slug, a page's ids), in SQL written once per model.

Django builds a queryset's SQL again every time one is evaluated: reading a person by
handle with ``filter(handle=h).first()`` took 248 µs of CPU, the same SELECT as a raw
queryset 80, and ``get(handle=h)`` 174 (one process, the bench data, SQLite). A page of
the site made one to three such reads, its largest cost after the template. A raw
queryset still reads from the database the router picks (a replica, for reads), makes
each row with the model's ``from_db`` and converts each column as the ORM does; each read
is still one query.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any, TypeVar

from django.db import connections, models, router

M = TypeVar("M", bound=models.Model)

# Longer lists go the ORM's way, which splits them under the database's parameter limit.
MAX_IDS = 500


@cache
def _select(model: type[models.Model], alias: str, field: str) -> str:
    """``SELECT <every column> FROM <table> WHERE <field's column>``, quoted for the database."""
    quote = connections[alias].ops.quote_name
    columns = {f.name: f.column for f in model._meta.concrete_fields if f.column}  # the model's own, no relations
    if field not in columns:
        raise ValueError(f"{model.__name__} has no column {field!r}")
    table = quote(model._meta.db_table)
    return f"SELECT {', '.join(map(quote, columns.values()))} FROM {table} WHERE {quote(columns[field])}"


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
