"""The SQLAlchemy mirror (digest/stores/db.py) must match the schema Django's migrations make."""

import pytest
from sqlalchemy import inspect

from digest.stores import db

# What a column's reflected type must be, by the family of the mirrored type.
FAMILIES = {
    "INTEGER": "integer", "BIGINT": "integer", "SMALLINT": "integer",
    "VARCHAR": "text", "TEXT": "text", "CHAR": "text",
    "DATE": "date", "DATETIME": "datetime", "TIMESTAMP": "datetime",
    "BOOLEAN": "boolean", "BOOL": "boolean",
    "JSON": "json", "JSONB": "json",
}


def family(sql_type) -> str:
    name = type(sql_type).__name__.upper()
    if name in ("JSON", "JSONB"):
        return "json"
    if name == "TIMESTAMP" or name == "DATETIME":
        return "datetime"
    compiled = str(sql_type).split("(")[0].upper().replace(" WITH TIME ZONE", "").replace(" WITHOUT TIME ZONE", "")
    # SQLite stores Django's JSONField and unsigned integers with their own names.
    if "UNSIGNED" in compiled:
        return "integer"
    return FAMILIES.get(compiled, compiled.lower())


@pytest.mark.parametrize("table", db.metadata.sorted_tables, ids=lambda t: t.name)
def test_mirror_matches_migrated_schema(engine, table):
    inspector = inspect(engine)
    assert inspector.has_table(table.name), f"Django's migrations make no table {table.name!r}"
    reflected = {column["name"]: column for column in inspector.get_columns(table.name)}
    for column in table.columns:
        assert column.name in reflected, f"{table.name}.{column.name} is mirrored but not migrated"
        actual = reflected[column.name]
        assert actual["nullable"] == column.nullable, f"{table.name}.{column.name}: nullability differs"
        expected_family = family(column.type)
        actual_family = family(actual["type"])
        if engine.dialect.name == "sqlite" and expected_family == "json":
            actual_family = "json" if actual_family in ("text", "json") else actual_family
        assert actual_family == expected_family, f"{table.name}.{column.name}: {actual_family} != {expected_family}"
        if expected_family == "text" and getattr(column.type, "length", None):
            assert actual["type"].length in (None, column.type.length), f"{table.name}.{column.name}: length differs"


def test_every_non_null_column_without_default_is_mirrored(engine):
    """A NOT NULL column the mirror lacks would make the core's inserts fail."""
    inspector = inspect(engine)
    for table in db.metadata.sorted_tables:
        for column in inspector.get_columns(table.name):
            if not column["nullable"] and column["default"] is None and column["name"] != "id":
                assert column["name"] in table.c, f"{table.name}.{column['name']} is NOT NULL but not mirrored"
