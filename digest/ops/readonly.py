"""The read-only switch: one hash in Redis, read once per request by the site.

While it is on, the site refuses writes (a friendly 503 page, and a refusal at the
connection level as a safety net), its templates show a banner and replace forms with a
notice, and the unsubscribe endpoint queues unsubscribes in Redis instead of writing the
database (replayed once the switch is off). The batch is not affected: it keeps writing
its ledger to the primary database it was given.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import redis as redis_lib
from sqlalchemy import Engine, event

from digest.stores.keys import RedisKeys

DEFAULT_MESSAGE = (
    "lanyard is read-only for a few minutes while we upgrade it. Browsing works; changes will be back soon."
)


@dataclass(frozen=True)
class ReadOnly:
    on: bool = False
    message: str = ""
    since: str = ""  # ISO time it was switched on
    by: str = ""

    @classmethod
    def from_hash(cls, values: Mapping[Any, Any]) -> ReadOnly:
        if values.get(b"on") != b"1":
            return cls()
        text = {key.decode(): value.decode() for key, value in values.items()}
        return cls(
            on=True, message=text.get("message") or DEFAULT_MESSAGE, since=text.get("since", ""), by=text.get("by", "")
        )


def read_only_read(redis: redis_lib.Redis, *, prefix: str) -> ReadOnly:
    """The switch as stored; raises RedisError when Redis cannot be reached (an operator
    asking must hear that, not "off")."""
    return ReadOnly.from_hash(redis.hgetall(RedisKeys(prefix).ops_read_only))


def read_only_get(redis: redis_lib.Redis, *, prefix: str) -> ReadOnly:
    """The switch for a request; off when Redis cannot be reached (the database's own errors are the last guard)."""
    try:
        return read_only_read(redis, prefix=prefix)
    except redis_lib.RedisError:
        return ReadOnly()


def read_only_set(redis: redis_lib.Redis, *, prefix: str, on: bool, message: str = "", by: str = "") -> ReadOnly:
    key = RedisKeys(prefix).ops_read_only
    if not on:
        redis.delete(key)
        return ReadOnly()
    since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    redis.hset(key, mapping={"on": "1", "message": message.strip(), "since": since, "by": by})
    return ReadOnly(on=True, message=message.strip() or DEFAULT_MESSAGE, since=since, by=by)


# -- the safety net: statements that write are refused while a read-only request runs -------


class ReadOnlyError(RuntimeError):
    """A write was attempted while lanyard is read-only."""


_WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|MERGE|CREATE|ALTER|DROP|TRUNCATE|COPY|GRANT|REVOKE)\b", re.I)
_refusing: ContextVar[bool] = ContextVar("lanyard_refuse_writes", default=False)


def statement_writes(sql: str) -> bool:
    return bool(_WRITES.match(sql))


@contextlib.contextmanager
def writes_refused() -> Iterator[None]:
    """Within this block (one request), every database write on this thread raises ReadOnlyError."""
    token = _refusing.set(True)
    try:
        yield
    finally:
        _refusing.reset(token)


def guard_statement(sql: str) -> None:
    if _refusing.get() and statement_writes(sql):
        raise ReadOnlyError("lanyard is read-only: this write was refused")


def install_sqlalchemy_guard() -> None:
    """Refuse writes through any SQLAlchemy engine of this process inside ``writes_refused`` (idempotent)."""
    if not event.contains(Engine, "before_cursor_execute", _guard):
        event.listen(Engine, "before_cursor_execute", _guard)


def _guard(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    guard_statement(statement)
