"""Live settings: one registry of typed, validated settings an operator changes without a restart.

Each setting belongs to a group that owns where it is stored. lanyard's own (the site
banner, cache timeouts, profiling sample rates) are rows of ``live_setting`` in the
database, with a copy in one Redis hash that readers take in their per-request round
trip; the scheduler contributes its runtime schedule (table ``schedule``) as another
group. Every change writes an audit row (``ops_change``): who, what, old and new, when.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import redis as redis_lib
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError

from digest.ops.audit import OpsChange, ops_change_record
from digest.stores import db
from digest.stores.keys import RedisKeys

LOADED_MARKER = "__loaded__"  # a field of the Redis copy: present once it holds the database's values


class SettingError(ValueError):
    """An unknown setting or a value of the wrong type or range; the message names it."""


class Kind(StrEnum):
    BOOL = "bool"
    INT = "int"
    FLOAT = "float"
    TEXT = "text"


@dataclass(frozen=True)
class LiveSetting:
    name: str
    kind: Kind
    default: Any
    description: str
    low: float | None = None  # numbers: the inclusive range
    high: float | None = None
    max_length: int = 500  # text
    parser: Callable[[Any], Any] | None = None  # a group's own checks (raising ValueError), instead of the kind's

    def parse(self, value: Any) -> Any:
        """A value from Python or from its text form (a command line, a form), checked."""
        if self.parser is not None:
            try:
                return self.parser(value)
            except SettingError:
                raise
            except ValueError as error:
                raise SettingError(str(error)) from None
        text = str(value).strip()
        if self.kind is Kind.BOOL:
            if isinstance(value, bool):
                return value
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise SettingError(f"{self.name} must be true or false, not {text!r}")
        if self.kind in (Kind.INT, Kind.FLOAT):
            try:
                number = int(text) if self.kind is Kind.INT else float(text)
            except ValueError:
                what = "a whole number" if self.kind is Kind.INT else "a number"
                raise SettingError(f"{self.name} must be {what}, not {text!r}") from None
            if (
                number != number
                or (self.low is not None and number < self.low)
                or (self.high is not None and number > self.high)
            ):
                raise SettingError(
                    f"{self.name} must be between {_number(self.low)} and {_number(self.high)}, not {text}"
                )
            return number
        if len(text) > self.max_length:
            raise SettingError(f"{self.name} must be at most {self.max_length} characters, not {len(text)}")
        return text


class SettingGroup(Protocol):
    """A set of live settings stored together."""

    @property
    def settings(self) -> Sequence[LiveSetting]: ...

    def current(self, engine: Engine) -> dict[str, Any]: ...

    def apply(
        self, engine: Engine, changes: Mapping[str, Any], *, changed_by: str, via: str
    ) -> dict[str, tuple[Any, Any]]:
        """Store parsed values; returns name -> (old, new) of what changed, audited."""
        ...


# lanyard's own live settings.
OPS_SETTINGS = (
    LiveSetting("site_banner", Kind.TEXT, "", "a message shown at the top of every page (empty: none)", max_length=300),
    LiveSetting(
        "cache_timeout_event", Kind.INT, 600, "seconds an event page's cached fragment lives", low=0, high=86_400
    ),
    LiveSetting(
        "profile_sample_rate", Kind.FLOAT, 0.0, "fraction of requests profiled (superusers' always are)", low=0, high=1
    ),
    LiveSetting("profile_task_sample_rate", Kind.FLOAT, 0.0, "fraction of chunk tasks profiled", low=0, high=1),
    # Bounce processing (digest/bounces/): soft bounces of this many digests within this
    # many days mark a subscription bouncing.
    LiveSetting(
        "soft_bounce_limit", Kind.INT, 3, "soft bounces (of different digests) that mark a subscription bouncing",
        low=1, high=1000,
    ),
    LiveSetting("soft_bounce_days", Kind.INT, 14, "days within which soft bounces count", low=1, high=3650),
    # Each provider's requests per second across every worker (scheduler/budget.py):
    # Bluesky's AppView and GitHub limit by address and by app, not by lanyard user.
    LiveSetting("follows_rate_github", Kind.FLOAT, 1.0, "GitHub API requests per second, all workers", low=0.01,
                high=100),
    LiveSetting("follows_rate_mastodon", Kind.FLOAT, 2.0, "Mastodon API requests per second, all workers",
                low=0.01, high=100),
    LiveSetting("follows_rate_bluesky", Kind.FLOAT, 5.0, "Bluesky AppView requests per second, all workers",
                low=0.01, high=100),
    # Imported follow lists (digest/accounts/): the most accounts kept of one list, and
    # how old a list may get before `lanyard follows refresh --due` fetches it again.
    LiveSetting(
        "follows_cap", Kind.INT, 20_000, "the most accounts of one imported follow list kept", low=1, high=1_000_000
    ),
    LiveSetting(
        "follows_refresh_hours", Kind.INT, 24, "hours after which an imported follow list is refreshed", low=1,
        high=24 * 90,
    ),
)
OPS_DEFAULTS = {setting.name: setting.default for setting in OPS_SETTINGS}


class OpsSettingGroup:
    """The ``live_setting`` table, mirrored into the Redis hash readers use."""

    settings = OPS_SETTINGS

    def __init__(self, redis: redis_lib.Redis, *, prefix: str):
        self.redis = redis
        self.key = RedisKeys(prefix).ops_settings

    def current(self, engine: Engine) -> dict[str, Any]:
        return {**OPS_DEFAULTS, **stored_values(engine)}

    def apply(
        self, engine: Engine, changes: Mapping[str, Any], *, changed_by: str, via: str
    ) -> dict[str, tuple[Any, Any]]:
        t = db.live_setting
        now = dt.datetime.now(dt.UTC)
        done: dict[str, tuple[Any, Any]] = {}
        with engine.begin() as connection:
            for name, new in changes.items():
                row = connection.execute(select(t.c.value).where(t.c.name == name)).first()
                old = json.loads(row.value) if row else OPS_DEFAULTS[name]
                if old == new:
                    continue
                values = {"value": json.dumps(new), "updated_at": now, "updated_by": changed_by[:150]}
                if row is None:
                    try:
                        with connection.begin_nested():
                            connection.execute(t.insert().values(name=name, **values))
                    except IntegrityError:  # another operator added it meanwhile
                        connection.execute(update(t).where(t.c.name == name).values(**values))
                else:
                    connection.execute(update(t).where(t.c.name == name).values(**values))
                ops_change_record(connection, change=OpsChange(name, old, new, changed_by, via))
                done[name] = (old, new)
        # The database has it; now the copy readers use. Dropped rather than patched when
        # Redis fails halfway, so the next reader reloads it from the database.
        try:
            self.redis.delete(self.key)
            settings_copy_load(self.redis, engine, key=self.key)
        except redis_lib.RedisError:
            pass
        return done


def stored_values(engine: Engine) -> dict[str, Any]:
    t = db.live_setting
    with engine.connect() as connection:
        rows = connection.execute(select(t.c.name, t.c.value)).all()
    return {name: json.loads(value) for name, value in rows if name in OPS_DEFAULTS}


def settings_copy_load(redis: redis_lib.Redis, engine: Engine, *, key: str) -> dict[str, Any]:
    """Fill the Redis copy from the database; returns the values."""
    values = {**OPS_DEFAULTS, **stored_values(engine)}
    pipe = redis.pipeline()
    pipe.hset(key, mapping={**{name: json.dumps(value) for name, value in values.items()}, LOADED_MARKER: "1"})
    pipe.execute()
    return values


def settings_from_hash(values: Mapping[bytes, bytes]) -> dict[str, Any] | None:
    """The settings of a Redis copy; None when it was never loaded (then ask the database)."""
    if LOADED_MARKER.encode() not in values:
        return None
    settings = dict(OPS_DEFAULTS)
    for name in OPS_DEFAULTS:
        raw = values.get(name.encode())
        if raw is not None:
            settings[name] = json.loads(raw)
    return settings


class Registry:
    """Every live setting, whichever group stores it."""

    def __init__(self, groups: Sequence[SettingGroup]):
        self.groups = list(groups)
        self.by_name: dict[str, tuple[LiveSetting, SettingGroup]] = {}
        for group in self.groups:
            for setting in group.settings:
                self.by_name[setting.name] = (setting, group)

    def describe(self) -> list[LiveSetting]:
        return [setting for setting, _ in self.by_name.values()]

    def current(self, engine: Engine) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for group in self.groups:
            values.update(group.current(engine))
        return values

    def parse(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Every value checked before anything is stored: one bad value changes nothing."""
        unknown = sorted(set(changes) - set(self.by_name))
        if unknown:
            raise SettingError(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(self.by_name)}")
        return {name: self.by_name[name][0].parse(value) for name, value in changes.items()}

    def set(
        self, engine: Engine, changes: Mapping[str, Any], *, changed_by: str, via: str
    ) -> dict[str, tuple[Any, Any]]:
        parsed = self.parse(changes)
        done: dict[str, tuple[Any, Any]] = {}
        for group in self.groups:
            mine = {name: value for name, value in parsed.items() if self.by_name[name][1] is group}
            if mine:
                done.update(group.apply(engine, mine, changed_by=changed_by, via=via))
        return done


def _number(value: float | None) -> str:
    return "any" if value is None else f"{value:g}"
