"""The delivery ledger: one row per subscription and digest date, claimed before sending.

A worker *claims* a delivery (inserts it as ``claimed``, or takes over a ``failed`` row
or a claim gone stale) in one atomic statement, sends, then marks it ``sent``. The
unique (subscription, digest date) constraint makes the claim the gate: of two workers
on the same chunk only one gets each row, and a chunk processed twice finds its rows
already final. A worker that dies holding claims leaves them to expire; a later claim
(or :func:`delivery_recover_stale`) takes them over, so the message is sent once, not
lost. Only a crash between the SMTP server accepting a message and :func:`delivery_mark_sent`
repeats that one message.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from digest.clock import utcnow
from digest.stores import db
from digest.vocabulary import DeliveryStatus


def _claim_statement(insert: Callable[[Table], Any]) -> Any:  # sqlite.insert or postgresql.insert
    d = db.delivery
    statement = insert(d).values(
        run_id=bindparam("b_run"),
        subscription_id=bindparam("b_sid"),
        digest_date=bindparam("b_day"),
        status=DeliveryStatus.CLAIMED,
        message_id="",
        attempts=1,
        last_error="",
        claimed_at=bindparam("b_claimed"),
        sent_at=None,
    )
    return statement.on_conflict_do_update(
        index_elements=[d.c.subscription_id, d.c.digest_date],
        set_={
            "run_id": statement.excluded.run_id,
            "status": DeliveryStatus.CLAIMED,
            "attempts": d.c.attempts + 1,
            "claimed_at": statement.excluded.claimed_at,
        },
        where=or_(
            d.c.status == DeliveryStatus.FAILED,
            and_(d.c.status == DeliveryStatus.CLAIMED, d.c.claimed_at < bindparam("stale")),
        ),
    ).returning(d.c.subscription_id)


# (SQLite, PostgreSQL): both speak INSERT … ON CONFLICT … DO UPDATE … WHERE … RETURNING.
_CLAIMS = (_claim_statement(sqlite.insert), _claim_statement(postgresql.insert))


def delivery_claim(
    connection: Connection,
    *,
    run_id: int,
    digest_date: dt.date,
    subscription_ids: Sequence[int],
    claimed_at: dt.datetime,
    stale_before: dt.datetime,
) -> dict[int, str]:
    """Claim deliveries; return {claimed subscription id → its status right now}.

    Ids not returned are final or freshly claimed by someone else. Reading the
    subscription's status in the claiming transaction is what lets an unsubscribe that
    committed before the claim win.
    """
    if not subscription_ids:
        return {}
    statement = _CLAIMS[connection.dialect.name == "postgresql"]
    rows = [
        {"b_run": run_id, "b_sid": sid, "b_day": digest_date, "b_claimed": claimed_at, "stale": stale_before}
        for sid in subscription_ids
    ]
    # One statement, many parameter sets: SQLAlchemy sends them as multi-row VALUES
    # batches ("insertmanyvalues") and compiles the statement once per process.
    claimed = [row[0] for row in connection.execute(statement, rows)]
    if not claimed:
        return {}
    s = db.subscription
    statuses = connection.execute(select(s.c.id, s.c.status).where(s.c.id.in_(claimed)))
    return {sid: status for sid, status in statuses}


def _mine(subscription_ids: int | Sequence[int], digest_date: dt.date, claimed_at: dt.datetime) -> ColumnElement[bool]:
    # A claim is ours while it still carries our claim time: a takeover after a
    # (mistaken) staleness verdict stamps its own.
    d = db.delivery
    ids = [subscription_ids] if isinstance(subscription_ids, int) else list(subscription_ids)
    return and_(
        d.c.subscription_id.in_(ids),
        d.c.digest_date == digest_date,
        d.c.status == DeliveryStatus.CLAIMED,
        d.c.claimed_at == claimed_at,
    )


# Marking a message sent is the one statement run per message, right after the SMTP
# server accepted it, so it goes straight to the DB-API driver: SQLAlchemy's execution
# path costs several times the statement itself (about 180 µs against 25 µs, commit
# included, on SQLite here). Parameters: status, sent_at, message_id, mentioned (JSON),
# subscription_id, digest_date, claimed_at. What the digest mentioned is recorded in the
# same statement: the memory of what a subscription was told is the ledger's, not Redis's.
_MARK_SENT_SQL = {
    "sqlite": (
        f'UPDATE "{db.delivery.name}" SET status = ?, sent_at = ?, message_id = ?, mentioned = ?, last_error = \'\' '
        "WHERE subscription_id = ? AND digest_date = ? AND status = 'claimed' AND claimed_at = ?"
    ),
    "postgresql": (
        f'UPDATE "{db.delivery.name}" SET status = %s, sent_at = %s, message_id = %s, mentioned = %s::jsonb, '
        "last_error = '' WHERE subscription_id = %s AND digest_date = %s AND status = 'claimed' AND claimed_at = %s"
    ),
}


def delivery_mark_sent(
    connection: Connection,
    *,
    subscription_id: int,
    digest_date: dt.date,
    claimed_at: dt.datetime,
    message_id: str,
    mentioned: Sequence[int] = (),
) -> bool:
    """Record one accepted message, committed at once (or with the caller's open transaction).

    On PostgreSQL this transaction commits asynchronously: waiting for the WAL flush
    (about 1.5 ms here) would cap a worker near 600 messages a second. A worker crash
    loses nothing (the server still flushes within a fraction of a second); only a crash
    of the database server itself can forget the last moment's marks, whose claims then
    go stale and are re-sent: the repeat window of a crash between SMTP acceptance and
    the ledger, widened from an instant to well under a second, for that rare event.
    Claims stay synchronous, so no message is ever sent unclaimed.
    """
    dialect = connection.dialect.name
    driver: Any = connection.connection.driver_connection  # the DB-API connection under the pool's
    values: tuple[object, ...] = (
        DeliveryStatus.SENT,
        utcnow(),
        message_id,
        json.dumps(list(mentioned)),
        subscription_id,
        digest_date,
        claimed_at,
    )
    if dialect == "sqlite":
        values = tuple(db.sqlite_value(v) for v in values)
    # Outside a transaction of the caller's, this statement is a transaction of its own.
    own_transaction = not connection.in_transaction()
    cursor = driver.cursor()
    try:
        if dialect == "postgresql" and own_transaction:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        cursor.execute(_MARK_SENT_SQL[dialect], values)
        marked = cursor.rowcount == 1
    finally:
        cursor.close()
    if own_transaction:
        driver.commit()
    return marked


def delivery_mark(
    connection: Connection,
    *,
    subscription_ids: Sequence[int],
    digest_date: dt.date,
    claimed_at: dt.datetime,
    status: str,
    reason: str,
) -> int:
    """Settle claims as skipped, failed or bounced, saying why."""
    if not subscription_ids:
        return 0
    result = connection.execute(
        update(db.delivery)
        .where(_mine(subscription_ids, digest_date, claimed_at))
        .values(status=status, last_error=reason[:2000])
    )
    return result.rowcount


def delivery_recover_stale(connection: Connection, *, older_than: dt.timedelta, run_id: int | None = None) -> int:
    """Turn claims older than ``older_than`` (of one run, or all) into failed deliveries
    that any run re-claims."""
    d = db.delivery
    condition = and_(d.c.status == DeliveryStatus.CLAIMED, d.c.claimed_at < utcnow() - older_than)
    if run_id is not None:
        condition = and_(condition, d.c.run_id == run_id)
    result = connection.execute(
        update(d).where(condition)
        .values(status=DeliveryStatus.FAILED, last_error="claim expired: the worker stopped before settling it")
    )
    return result.rowcount


def delivery_totals(connection: Connection, *, run_id: int) -> dict[str, int]:
    d = db.delivery
    rows = connection.execute(select(d.c.status, func.count()).where(d.c.run_id == run_id).group_by(d.c.status))
    return {status: count for status, count in rows}


def delivery_failed(connection: Connection, *, run_id: int, max_attempts: int | None = None) -> list[int]:
    """Subscriptions whose delivery in this run failed temporarily (and was retried at
    most ``max_attempts`` times, when given), by id."""
    d = db.delivery
    condition = and_(d.c.run_id == run_id, d.c.status == DeliveryStatus.FAILED)
    if max_attempts is not None:
        condition = and_(condition, d.c.attempts <= max_attempts)
    return list(
        connection.execute(select(d.c.subscription_id).where(condition).order_by(d.c.subscription_id)).scalars()
    )


def delivery_most_attempts(connection: Connection, *, run_id: int) -> int:
    """The most tries any of the run's failed deliveries has had (0: none failed)."""
    d = db.delivery
    return connection.execute(
        select(func.coalesce(func.max(d.c.attempts), 0)).where(
            d.c.run_id == run_id, d.c.status == DeliveryStatus.FAILED
        )
    ).scalar_one()


def delivery_failure_reasons(connection: Connection, *, run_id: int) -> Counter:
    """Why the run's failed deliveries failed: last error → how many."""
    d = db.delivery
    rows = connection.execute(
        select(d.c.last_error, func.count()).where(d.c.run_id == run_id, d.c.status == DeliveryStatus.FAILED)
        .group_by(d.c.last_error)
    )
    return Counter({reason or "no reason recorded": count for reason, count in rows})


def _fail_statement(insert: Callable[[Table], Any]) -> Any:  # sqlite.insert or postgresql.insert
    d = db.delivery
    statement = insert(d).values(
        run_id=bindparam("b_run"), subscription_id=bindparam("b_sid"), digest_date=bindparam("b_day"),
        status=DeliveryStatus.FAILED, message_id="", attempts=1, last_error=bindparam("b_reason"),
        claimed_at=None, sent_at=None,
    )
    return statement.on_conflict_do_update(
        index_elements=[d.c.subscription_id, d.c.digest_date],
        set_={"run_id": statement.excluded.run_id, "last_error": statement.excluded.last_error},
        where=d.c.status == DeliveryStatus.FAILED,
    ).returning(d.c.subscription_id)


_FAILS = (_fail_statement(sqlite.insert), _fail_statement(postgresql.insert))


def delivery_fail(
    connection: Connection, *, run_id: int, digest_date: dt.date, subscription_ids: Sequence[int], reason: str
) -> int:
    """Record deliveries that will not go out as failed with ``reason`` (new rows, or
    failed ones taken into this run); claimed and final rows are left alone."""
    if not subscription_ids:
        return 0
    statement = _FAILS[connection.dialect.name == "postgresql"]
    rows = [
        {"b_run": run_id, "b_sid": sid, "b_day": digest_date, "b_reason": reason[:2000]} for sid in subscription_ids
    ]
    return len(list(connection.execute(statement, rows)))


def delivery_mentions(
    connection: Connection, *, subscription_ids: Sequence[int], since: dt.date
) -> dict[int, set[int]]:
    """What the digests sent to these subscriptions since ``since`` mentioned: id → event ids."""
    d = db.delivery
    found: dict[int, set[int]] = {sid: set() for sid in subscription_ids}
    ids = list(subscription_ids)
    for start in range(0, len(ids), 500):
        rows = connection.execute(
            select(d.c.subscription_id, d.c.mentioned).where(
                d.c.subscription_id.in_(ids[start:start + 500]), d.c.status == DeliveryStatus.SENT,
                d.c.digest_date >= since, d.c.mentioned.is_not(None),
            )
        )
        for sid, mentioned in rows:
            found[sid].update(int(e) for e in mentioned or ())
    return found


def delivery_feedback_totals(connection: Connection, *, run_id: int) -> dict[str, int]:
    """How many of a run's deliveries drew each kind of report (bounces, complaints) since."""
    d = db.delivery
    rows = connection.execute(
        select(d.c.feedback, func.count()).where(d.c.run_id == run_id, d.c.feedback != "").group_by(d.c.feedback)
    )
    return {feedback: count for feedback, count in rows}
