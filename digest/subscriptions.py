"""Unsubscribing and resubscribing: the writes behind the links in the digest emails.

A change ends in the database (the subscription's status and an ``unsubscribe_event``
audit row, in one statement or transaction) and in the Redis suppression set that a
running digest batch checks before each send.

The unsubscribe endpoint queues its changes in Redis first (digest/unsubscribe_queue.py)
and applies them here afterwards, each as of the time it was asked: every write is
conditional on the current status, and a change older than a later one in the audit
trail is not applied, so applying one twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis as redis_lib
import sqlalchemy.exc
from sqlalchemy import (
    ClauseElement,
    Connection,
    DateTime,
    Dialect,
    Engine,
    Select,
    String,
    Update,
    bindparam,
    exists,
    func,
    insert,
    select,
    text,
    update,
)

from digest.clock import utcnow
from digest.stores import db
from digest.stores.keys import RedisKeys
from digest.vocabulary import ChangeVia, SubscriptionAction, SubscriptionStatus

log = logging.getLogger("lanyard.unsubscribe")

ACTIONS = tuple(SubscriptionAction)
VIAS = tuple(ChangeVia)


class SubscriptionNotFound(LookupError):
    """No subscription has this id (it was deleted, or never existed)."""

    def __init__(self, subscription_id: int):
        self.subscription_id = subscription_id
        super().__init__(f"no subscription {subscription_id}")


@dataclass(frozen=True, slots=True)
class SubscriptionCard:
    """What the unsubscribe pages show about a subscription."""

    id: int
    list_name: str
    email: str | None  # None: not known (the database could not be read)
    status: str | None


@dataclass(frozen=True, slots=True)
class SubscriptionChange:
    """One person's request, as queued while the database was unreachable."""

    subscription_id: int
    action: str  # a SubscriptionAction
    via: str
    at: dt.datetime  # when the person asked (UTC)

    def to_json(self) -> str:
        return json.dumps({
            "subscription_id": self.subscription_id, "action": self.action, "via": self.via,
            "at": self.at.isoformat(),
        }, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: bytes | str) -> SubscriptionChange:
        """Parse a queue entry; ``ValueError`` when it is not one."""
        try:
            data = json.loads(raw)
            change = cls(
                subscription_id=data["subscription_id"], action=data["action"], via=data["via"],
                at=dt.datetime.fromisoformat(data["at"]),
            )
        except (TypeError, KeyError, ValueError) as error:
            raise ValueError(f"not a queued subscription change: {error}") from None
        if (
            type(change.subscription_id) is not int or not 0 < change.subscription_id < 2**63
            or change.action not in ACTIONS
            or change.via not in VIAS or change.at.tzinfo is None
        ):
            raise ValueError("not a queued subscription change: bad field")
        return change


def subscription_get(engine: Engine, *, subscription_id: int) -> SubscriptionCard | None:
    params = {"subscription_id": subscription_id}
    if engine.dialect.name == "postgresql":
        row = _autocommit_one(engine, _GET, params)
    else:
        with engine.connect() as connection:
            row = connection.execute(_GET, params).first()
    return SubscriptionCard(*row) if row else None


def subscription_unsubscribe(engine: Engine, *, subscription_id: int, via: str, at: dt.datetime | None = None) -> bool:
    """Unsubscribe; True if this call changed the status, False if it was already so.

    Safe under concurrency: the UPDATE is conditional on the current status, and the
    audit row is written only by the one transaction whose UPDATE changed the row.
    ``at`` is for replays: the time the person asked. A replayed change is not applied
    when the audit trail already holds a later change (the person changed their mind
    again while the request waited in the queue).
    Raises :class:`SubscriptionNotFound`.
    """
    return _change(engine, subscription_id=subscription_id, action=SubscriptionAction.UNSUBSCRIBE, via=via, at=at)


def subscription_unsubscribe_in(connection: Connection, *, subscription_id: int, via: str) -> bool:
    """Unsubscribe inside the caller's transaction; True if this changed the status.

    For writers that record more in the same transaction (a complaint report and the
    decision taken on it). The same conditional UPDATE as :func:`subscription_unsubscribe`,
    so concurrent changes still write one audit row.
    """
    if via not in VIAS:
        raise ValueError(f"unknown via {via!r}; known: {', '.join(VIAS)}")
    now = utcnow()
    params = {
        "subscription_id": subscription_id,
        "now": now,
        "action": SubscriptionAction.UNSUBSCRIBE,
        "via": via,
        "asked_at": now,
    }
    if connection.execute(_change_statements(SubscriptionAction.UNSUBSCRIBE, False).update, params).rowcount == 1:
        connection.execute(_AUDIT, params)
        return True
    return False


def subscription_unsubscribe_many(engine: Engine, *, asks: Sequence[tuple[int, str]]) -> dict[int, bool]:
    """Unsubscribe several subscriptions in one transaction: ``asks`` is ``(subscription_id,
    via)`` pairs. Returns ``{subscription_id: changed}`` for every id that exists (a missing
    id is left out); an id asked twice is applied once, with its first ``via``.

    The unsubscribe endpoint's group commit: one transaction (one commit, and on
    PostgreSQL one statement) for the requests gathered in a worker process. The same
    conditional UPDATE as :func:`subscription_unsubscribe`, so a subscription already
    unsubscribed gets no second audit row, and rows are locked in id order so two
    batches touching the same subscriptions cannot deadlock.
    """
    vias = dict(reversed(asks))  # the first via of an id asked twice
    if unknown := set(vias.values()) - set(VIAS):
        raise ValueError(f"unknown via {sorted(unknown)[0]!r}; known: {', '.join(VIAS)}")
    ids = sorted(vias)
    if not ids:
        return {}
    params = {"now": utcnow(), "action": SubscriptionAction.UNSUBSCRIBE, "status": SubscriptionStatus.UNSUBSCRIBED}
    if engine.dialect.name == "postgresql":
        rows = _autocommit_rows(engine, _UNSUBSCRIBE_MANY, {**params, "ids": ids, "vias": [vias[i] for i in ids]})
        return {subscription_id: changed for subscription_id, changed in rows}
    result: dict[int, bool] = {}
    with engine.begin() as connection:  # SQLite: several statements, one commit
        for subscription_id in ids:
            one = {**params, "subscription_id": subscription_id, "via": vias[subscription_id],
                   "asked_at": params["now"]}
            if connection.execute(_change_statements(SubscriptionAction.UNSUBSCRIBE, False).update, one).rowcount:
                connection.execute(_AUDIT, one)
                result[subscription_id] = True
            elif connection.execute(_COUNT, one).scalar_one():
                result[subscription_id] = False
    return result


def subscription_resubscribe(engine: Engine, *, subscription_id: int, via: str, at: dt.datetime | None = None) -> bool:
    """Undo an unsubscribe (only an unsubscribed subscription becomes active again).

    Same contract as :func:`subscription_unsubscribe`.
    """
    return _change(engine, subscription_id=subscription_id, action=SubscriptionAction.RESUBSCRIBE, via=via, at=at)


def subscription_unsubscribe_asked(engine: Engine, *, changes: Sequence[SubscriptionChange]) -> dict[int, bool]:
    """Apply queued unsubscribes, each as of the time it was asked (its audit row's time;
    not applied over a later change in the audit trail). Returns ``{subscription_id:
    changed}`` for every id that exists; an id queued twice is applied once, at its first time.

    On PostgreSQL one statement (one commit) for them all; on SQLite one change at a time.
    """
    if engine.dialect.name != "postgresql":
        found: dict[int, bool] = {}
        for change in changes:
            try:
                changed = subscription_unsubscribe(engine, subscription_id=change.subscription_id, via=change.via,
                                                   at=change.at)
            except SubscriptionNotFound:
                continue
            found[change.subscription_id] = found.get(change.subscription_id, False) or changed
        return found
    rows = _autocommit_rows(engine, _UNSUBSCRIBE_ASKED_MANY, {
        "ids": [change.subscription_id for change in changes],
        "vias": [change.via for change in changes],
        "ats": [_utc(change.at) for change in changes],
        "now": utcnow(), "action": SubscriptionAction.UNSUBSCRIBE, "status": SubscriptionStatus.UNSUBSCRIBED,
    })
    return {subscription_id: changed for subscription_id, changed in rows}


def _change(engine: Engine, *, subscription_id: int, action: str, via: str, at: dt.datetime | None) -> bool:
    if via not in VIAS:
        raise ValueError(f"unknown via {via!r}; known: {', '.join(VIAS)}")
    now = utcnow()
    params = {"subscription_id": subscription_id, "now": now, "action": action, "via": via,
              "asked_at": _utc(at) if at else now}
    replay = at is not None
    if engine.dialect.name == "postgresql":
        # One statement is atomic on its own: one round trip instead of four.
        row = _autocommit_one(engine, _change_statements(action, replay).postgresql, params)
        rows_changed, found = row if row is not None else (0, False)
        if not found:
            raise SubscriptionNotFound(subscription_id)
        return rows_changed == 1
    # The UPDATE comes first: on SQLite it takes the write lock at once, so concurrent
    # writers queue behind it instead of failing to upgrade a read lock.
    with engine.begin() as connection:
        if connection.execute(_change_statements(action, replay).update, params).rowcount == 1:
            connection.execute(_AUDIT, params)
            return True
        if connection.execute(_COUNT, params).scalar_one() == 0:
            raise SubscriptionNotFound(subscription_id)
        return False


# The statements are built once, with bind parameters, so SQLAlchemy's compiled cache
# serves every request without rebuilding them.
_s = db.subscription.c
_e = db.unsubscribe_event.c
_GET = select(_s.id, _s.list, _s.email, _s.status).where(_s.id == bindparam("subscription_id"))
_COUNT = select(func.count()).select_from(db.subscription).where(_s.id == bindparam("subscription_id"))
_AUDIT = insert(db.unsubscribe_event).values(
    subscription_id=bindparam("subscription_id"), action=bindparam("action"), via=bindparam("via"),
    created_at=bindparam("asked_at"),
)

# PostgreSQL: the whole group in one statement. ``locked`` takes the row locks in id
# order; a row another transaction unsubscribed meanwhile is re-checked and left out,
# so only rows this statement changed get an audit row.
_UNSUBSCRIBE_MANY = text("""
WITH asked AS (
    SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:vias AS varchar[])) AS a(id, via)
), locked AS (
    SELECT s.id FROM subscription s JOIN asked ON asked.id = s.id
    WHERE s.status <> :status ORDER BY s.id FOR UPDATE OF s
), changed AS (
    UPDATE subscription s SET status = :status, updated_at = :now
    FROM locked WHERE s.id = locked.id AND s.status <> :status RETURNING s.id
), audited AS (
    INSERT INTO unsubscribe_event (subscription_id, action, via, created_at)
    SELECT asked.id, :action, asked.via, :now FROM asked JOIN changed ON changed.id = asked.id
    RETURNING subscription_id
)
SELECT s.id, s.id IN (SELECT subscription_id FROM audited) FROM asked JOIN subscription s ON s.id = asked.id
""")

# Queued unsubscribes (subscription_unsubscribe_asked): the same, with each change's own time (its audit row's
# ``created_at``), and a change older than a later one in the audit trail not applied.
# An id queued twice in one batch is applied once, at its first time.
_UNSUBSCRIBE_ASKED_MANY = text("""
WITH asked AS (
    SELECT DISTINCT ON (id) id, via, at
    FROM unnest(CAST(:ids AS bigint[]), CAST(:vias AS varchar[]), CAST(:ats AS timestamptz[])) AS a(id, via, at)
    ORDER BY id, at
), locked AS (
    SELECT s.id FROM subscription s JOIN asked ON asked.id = s.id
    WHERE s.status <> :status ORDER BY s.id FOR UPDATE OF s
), changed AS (
    UPDATE subscription s SET status = :status, updated_at = :now
    FROM locked JOIN asked ON asked.id = locked.id
    WHERE s.id = locked.id AND s.status <> :status AND NOT EXISTS (
        SELECT 1 FROM unsubscribe_event e WHERE e.subscription_id = s.id AND e.created_at > asked.at
    )
    RETURNING s.id
), audited AS (
    INSERT INTO unsubscribe_event (subscription_id, action, via, created_at)
    SELECT asked.id, :action, asked.via, asked.at FROM asked JOIN changed ON changed.id = asked.id
    RETURNING subscription_id
)
SELECT s.id, s.id IN (SELECT subscription_id FROM audited) FROM asked JOIN subscription s ON s.id = asked.id
""")


def _autocommit_one(engine: Engine, statement: Select, params: dict) -> tuple | None:
    rows = _autocommit_rows(engine, statement, params)
    return rows[0] if rows else None


def _autocommit_rows(engine: Engine, statement: ClauseElement, params: dict) -> list[tuple]:
    """PostgreSQL: run one statement outside a transaction and return its first row.

    The unsubscribe endpoint's hot path: the statement is compiled once and run on the
    pooled psycopg connection itself, in autocommit (no BEGIN, no COMMIT round trips),
    which costs a third of the CPU of a SQLAlchemy ``Connection.execute``. An engine made
    with ``isolation_level="AUTOCOMMIT"`` (the endpoint's) hands out connections already
    in autocommit, which saves switching it on and off around each statement. Errors are
    raised as SQLAlchemy's (``OperationalError`` when the server is down) like any other
    database access.
    """
    sql, defaults = _compiled(engine.dialect, statement)
    dbapi_error = engine.dialect.loaded_dbapi.Error
    values = {**defaults, **params}
    try:
        pooled = engine.raw_connection()
        try:
            driver: Any = pooled.driver_connection  # psycopg's own connection
            if driver.autocommit:
                return driver.execute(sql, values).fetchall()
            driver.autocommit = True
            try:
                return driver.execute(sql, values).fetchall()
            finally:
                if not driver.closed:
                    driver.autocommit = False  # as the pool handed it out
        finally:
            pooled.close()
    except dbapi_error as error:
        raise sqlalchemy.exc.DBAPIError.instance(sql, values, error, dbapi_error) from error


@functools.lru_cache(maxsize=64)
def _compiled(dialect: Dialect, statement: ClauseElement) -> tuple[str, dict]:
    compiled = statement.compile(dialect=dialect)
    return str(compiled), dict(compiled.params)


@dataclass(frozen=True)
class _ChangeStatements:
    update: Update  # the conditional UPDATE alone (SQLite: then _AUDIT if it changed a row)
    postgresql: Select  # UPDATE and audit INSERT in one statement, returning (changed, found)


@functools.cache
def _change_statements(action: str, replay: bool) -> _ChangeStatements:
    """The conditional UPDATE: only a subscription not yet in the wanted state changes,
    so of many concurrent requests exactly one changes it and writes the audit row (on
    PostgreSQL a second UPDATE waits for the first to commit, then re-checks its WHERE
    against the new status). A replay (``asked_at`` in the past) is not applied over a
    later change already in the audit trail."""
    unsubscribed = SubscriptionStatus.UNSUBSCRIBED
    if action == SubscriptionAction.UNSUBSCRIBE:
        new_status, applies = unsubscribed, _s.status != unsubscribed
    else:
        new_status, applies = SubscriptionStatus.ACTIVE, _s.status == unsubscribed
    statement = (
        update(db.subscription)
        .where(_s.id == bindparam("subscription_id"), applies)
        .values(status=new_status, updated_at=bindparam("now"))
    )
    if replay:
        newer = select(_e.id).where(
            _e.subscription_id == bindparam("subscription_id"), _e.created_at > bindparam("asked_at")
        )
        statement = statement.where(~exists(newer))
    # PostgreSQL: data-modifying CTEs, so the audit row is inserted only for a changed row.
    changed = statement.returning(_s.id).cte("changed")
    inserted = (
        insert(db.unsubscribe_event)
        .from_select(
            ["subscription_id", "action", "via", "created_at"],
            select(changed.c.id, bindparam("action", type_=String), bindparam("via", type_=String),
                   bindparam("asked_at", type_=DateTime(timezone=True))),
        )
        .returning(_e.id)
        .cte("inserted")
    )
    combined = select(
        select(func.count()).select_from(inserted).scalar_subquery(),
        exists(select(_s.id).where(_s.id == bindparam("subscription_id"))),
    )
    return _ChangeStatements(update=statement, postgresql=combined)


def subscription_suppress(redis: redis_lib.Redis, *, prefix: str, subscription_id: int) -> None:
    """Tell a running batch at once not to mail this subscription."""
    redis.sadd(RedisKeys(prefix).unsubscribe_suppressed, subscription_id)


def subscription_suppress_many(redis: redis_lib.Redis, *, prefix: str, subscription_ids: Sequence[int]) -> None:
    """:func:`subscription_suppress` for several subscriptions, in one command."""
    if subscription_ids:
        redis.sadd(RedisKeys(prefix).unsubscribe_suppressed, *subscription_ids)


def subscription_unsuppress(redis: redis_lib.Redis, *, prefix: str, subscription_id: int) -> None:
    redis.srem(RedisKeys(prefix).unsubscribe_suppressed, subscription_id)


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC)
