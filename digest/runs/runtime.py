"""The runtime schedule: settings operators change while everything runs.

They live in the database (table ``schedule``, one row, Django model
``mailing.Schedule``), the source of truth that survives a Redis restart; the CLI
(`lanyard schedule show/set`) and the Django admin edit the same row. Every beat tick
reads it, so a change takes effect at the next tick; workers re-read the send rate
every few seconds. A missing row means the defaults.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from sqlalchemy import Engine, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from digest.ops.audit import OpsChange, ops_change_log
from digest.ops.live import Kind, LiveSetting
from digest.runs.due import WEEKDAYS
from digest.stores import db
from digest.vocabulary import DigestList

SCHEDULE_ID = 1
LISTS = tuple(DigestList)


class ScheduleError(ValueError):
    """A schedule value is out of range; the message names it."""


@dataclass(frozen=True)
class Schedule:
    paused: bool = False
    tick_seconds: int = 300
    default_send_hour: int = 7
    lists: tuple[str, ...] = LISTS
    weekly_day: int = 0
    rate_limit: int = 0  # messages per second across all workers; 0: unlimited
    chunk_size: int = 500
    chunk_timeout: int = 600  # seconds before a running chunk counts as lost
    max_attempts: int = 5  # automatic retries of temporarily failed deliveries


EDITABLE = tuple(f.name for f in fields(Schedule))


def schedule_get(engine: Engine) -> Schedule:
    with engine.connect() as connection:
        row = connection.execute(select(db.schedule).where(db.schedule.c.id == SCHEDULE_ID)).mappings().first()
    if row is None:
        return Schedule()
    values = {name: row[name] for name in EDITABLE}
    values["lists"] = _split_lists(row["lists"])
    return Schedule(**values)


def schedule_set(engine: Engine, **changes: Any) -> Schedule:
    """Validate and store changes (values may be strings, as typed on a command line)."""
    current = schedule_get(engine)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ScheduleError(f"unknown schedule setting(s): {', '.join(sorted(unknown))}; known: {', '.join(EDITABLE)}")
    new = replace(current, **{name: parse_value(name, value) for name, value in changes.items()})
    row = asdict(new)
    row["lists"] = ",".join(new.lists)
    row["updated_at"] = dt.datetime.now(dt.UTC)
    with engine.begin() as connection:
        updated = connection.execute(update(db.schedule).where(db.schedule.c.id == SCHEDULE_ID).values(**row)).rowcount
        if not updated:
            connection.execute(insert(db.schedule).values(id=SCHEDULE_ID, last_tick_at=None, **row))
    return new


def schedule_claim_tick(engine: Engine, *, now: dt.datetime, tick_seconds: int) -> bool:
    """True for the one tick per period that should plan; however many beats fire.

    Beat fires often (``HEARTBEAT_SECONDS`` in scheduler/app.py); the period itself is the
    runtime ``tick_seconds``, so changing it needs no restart. The conditional UPDATE
    makes two beats (or a retried tick) plan once.
    """
    s = db.schedule
    with engine.connect() as connection:
        exists = connection.execute(select(s.c.id).where(s.c.id == SCHEDULE_ID)).first()
    if exists is None:
        try:
            schedule_set(engine)  # store the defaults, so the claim below has a row
        except IntegrityError:
            pass  # another tick stored them first
    with engine.begin() as connection:
        # A little slack, so a heartbeat landing a moment early does not skip a period.
        due_before = now - dt.timedelta(seconds=max(tick_seconds - 1, 0))
        result = connection.execute(
            update(s).where(s.c.id == SCHEDULE_ID, or_(s.c.last_tick_at.is_(None), s.c.last_tick_at <= due_before))
            .values(last_tick_at=now)
        )
        return result.rowcount == 1


def parse_value(name: str, value: Any) -> Any:
    """One setting from a Python value or its text form, range-checked."""
    if name == "paused":
        if isinstance(value, bool):
            return value
        lowered = str(value).strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ScheduleError(f"paused must be true or false, not {value!r}")
    if name == "lists":
        names = _split_lists(value) if isinstance(value, str) else tuple(value)
        bad = [n for n in names if n not in LISTS]
        if bad:
            raise ScheduleError(f"lists: unknown list(s) {', '.join(bad)}; known: {', '.join(LISTS)}")
        return tuple(dict.fromkeys(names))
    if name == "weekly_day" and isinstance(value, str) and not value.strip().isdigit():
        lowered = value.strip().lower()
        matches = [i for i, day in enumerate(WEEKDAYS) if day.startswith(lowered[:3])] if len(lowered) >= 3 else []
        if len(matches) != 1:
            raise ScheduleError(f"weekly_day must be 0-6 or a weekday name, not {value!r}")
        return matches[0]
    limits = {
        "tick_seconds": (10, 86_400),
        "default_send_hour": (0, 23),
        "weekly_day": (0, 6),
        "rate_limit": (0, 1_000_000),
        "chunk_size": (1, 100_000),
        "chunk_timeout": (1, 86_400),
        "max_attempts": (0, 100),
    }
    low, high = limits[name]
    try:
        number = int(str(value).strip()) if not isinstance(value, int) or isinstance(value, bool) else value
    except ValueError:
        raise ScheduleError(f"{name} must be a whole number, not {value!r}") from None
    if not low <= number <= high:
        raise ScheduleError(f"{name} must be between {low} and {high}, not {number}")
    return number


def _split_lists(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


_DESCRIPTIONS = {
    "paused": "global pause: ticks plan nothing and chunks wait",
    "tick_seconds": "how often a tick plans what is due",
    "default_send_hour": "local hour for subscriptions without one",
    "lists": "the lists that run (daily,weekly)",
    "weekly_day": "the local weekday of the weekly list (0-6 or monday…)",
    "rate_limit": "messages per second across all workers; 0: unlimited",
    "chunk_size": "subscriptions per chunk task",
    "chunk_timeout": "seconds after which a running chunk or a ledger claim counts as lost",
    "max_attempts": "automatic retries of temporarily failed deliveries",
}


def _text(name: str, value: Any) -> Any:
    return ",".join(value) if name == "lists" else value


def _parse_text(name: str, value: Any) -> Any:
    """One schedule setting checked by parse_value, in the form the registry shows it."""
    return _text(name, parse_value(name, value))


class ScheduleSettingGroup:
    """The runtime schedule as a group of the live-settings registry (digest/ops/live.py)."""

    settings = tuple(
        LiveSetting(f.name, Kind.BOOL if f.name == "paused" else Kind.TEXT if f.name == "lists" else Kind.INT,
                    _text(f.name, f.default), _DESCRIPTIONS[f.name],
                    parser=functools.partial(_parse_text, f.name))
        for f in fields(Schedule)
    )

    def current(self, engine: Engine) -> dict:
        return {name: _text(name, value) for name, value in asdict(schedule_get(engine)).items()}

    def apply(self, engine: Engine, changes: Mapping[str, Any], *, changed_by: str, via: str) -> dict:
        before = self.current(engine)
        schedule_set(engine, **changes)
        after = self.current(engine)
        done = {name: (before[name], after[name]) for name in changes if before[name] != after[name]}
        for name, (old, new) in done.items():
            ops_change_log(engine, change=OpsChange(name, old, new, changed_by, via))
        return done
