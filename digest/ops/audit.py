"""The audit trail of operator changes: who changed which setting, flag or switch, when."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from digest.stores import db


@dataclass(frozen=True)
class OpsChange:
    name: str  # a live setting's name, "flag:<name>" or "read_only"
    old_value: Any
    new_value: Any
    changed_by: str  # a user name, or "cli:<login>"
    via: str  # "cli" or "admin"


def ops_change_record(connection: Connection, *, change: OpsChange) -> None:
    connection.execute(
        insert(db.ops_change).values(
            name=change.name,
            old_value=json.dumps(change.old_value),
            new_value=json.dumps(change.new_value),
            changed_by=change.changed_by[:150],
            via=change.via,
            changed_at=dt.datetime.now(dt.UTC),
        )
    )


def ops_change_log(engine: Engine, *, change: OpsChange) -> None:
    """Record one change in its own transaction (for state that lives outside the database)."""
    with engine.begin() as connection:
        ops_change_record(connection, change=change)


def ops_changes_latest(engine: Engine, *, limit: int = 20) -> list[dict]:
    t = db.ops_change
    with engine.connect() as connection:
        rows = (
            connection.execute(select(t).order_by(t.c.changed_at.desc(), t.c.id.desc()).limit(limit)).mappings().all()
        )
    return [
        {**row, "old_value": json.loads(row["old_value"]), "new_value": json.loads(row["new_value"])} for row in rows
    ]
