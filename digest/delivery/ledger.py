"""The delivery ledger: one row per subscription and digest date, claimed before sending.

A worker *claims* a delivery (inserts it as ``claimed``, or takes over a ``failed`` row
or a claim gone stale) in one atomic statement, sends, then marks it ``sent``. The
unique (subscription, digest date) constraint makes the claim the gate: of two workers
on the same chunk only one gets each row, and a chunk processed twice finds its rows
already final. A worker that dies holding claims leaves them to expire; a later claim
(or :func:`delivery_recover_stale`) takes them over, so the message is sent once, not
lost.

Claims are *fenced*: each claim bumps the row's ``claim_generation`` and the claimer
keeps the number it got. :func:`delivery_fence` (run right before each send) and every
mark write only ``WHERE status = 'claimed' AND claim_generation = <ours>``, in the
statement that writes, so a worker whose claim was taken over (it was cut off, or
stalled, past ``claim_timeout``) is refused: it neither sends nor overwrites. The fence
also renews the claim's lease (``claimed_at``), so a claim is stale only when its holder
has not been heard of for ``claim_timeout``. What remains: a message the SMTP server
accepted whose "sent" mark never reached the database before the claim was taken over
(README, "Faults").
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

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
        claim_generation=1,
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
            "claim_generation": d.c.claim_generation + 1,
            "claimed_at": statement.excluded.claimed_at,
        },
        where=or_(
            d.c.status == DeliveryStatus.FAILED,
            and_(d.c.status == DeliveryStatus.CLAIMED, d.c.claimed_at < bindparam("stale")),
        ),
    ).returning(d.c.subscription_id, d.c.claim_generation)


# (SQLite, PostgreSQL): both speak INSERT … ON CONFLICT … DO UPDATE … WHERE … RETURNING.
_CLAIMS = (_claim_statement(sqlite.insert), _claim_statement(postgresql.insert))


@dataclass(frozen=True)
class Claim:
    """One claimed delivery: the subscription's status read in the claiming transaction,
    and the claim's generation, which every later write of this claim must match."""

    status: str
    generation: int


@dataclass(frozen=True, slots=True)
class ClaimRef:
    """Which claim a write is made under: it lands only while the claim's generation is this one."""

    subscription_id: int
    digest_date: dt.date
    generation: int


@dataclass(frozen=True, slots=True)
class SentMark:
    """A "sent" mark to write: the SMTP server accepted the message at ``sent_at``."""

    claim: ClaimRef
    message_id: str
    mentioned: Sequence[int]
    sent_at: dt.datetime


def delivery_claim(
    connection: Connection,
    *,
    run_id: int,
    digest_date: dt.date,
    subscription_ids: Sequence[int],
    claimed_at: dt.datetime,
    stale_before: dt.datetime,
) -> dict[int, Claim]:
    """Claim deliveries; return {claimed subscription id → its claim}.

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
    generations = {row[0]: row[1] for row in connection.execute(statement, rows)}
    if not generations:
        return {}
    s = db.subscription
    statuses = connection.execute(select(s.c.id, s.c.status).where(s.c.id.in_(list(generations))))
    return {sid: Claim(status, generations[sid]) for sid, status in statuses}


def _per_dialect(sql: str) -> dict[str, str]:
    """``sql`` with ``{p}`` (a parameter) and ``{json}`` (a JSON parameter) in each driver's style."""
    return {
        "sqlite": sql.format(p="?", json="?"),
        "postgresql": sql.format(p="%s", json="%s::jsonb"),
    }


# The per-message statements go straight to the DB-API driver: SQLAlchemy's execution
# path costs several times the statement itself (about 180 µs against 25 µs, commit
# included, on SQLite here).
#
# The fence, right before each send: renew the claim's lease if the claim is still ours.
# Parameters: claimed_at, subscription_id, digest_date, claim_generation.
_FENCE_SQL = _per_dialect(
    f'UPDATE "{db.delivery.name}" SET claimed_at = {{p}} '
    "WHERE subscription_id = {p} AND digest_date = {p} AND status = 'claimed' AND claim_generation = {p}"
)
# The "sent" mark, once the SMTP server accepted the message (written in one transaction
# with the next message's fence: ``digest/delivery/deliver.py``). What the digest
# mentioned is recorded in the same statement: the memory of what a subscription was told
# is the ledger's, not Redis's. Parameters: status, sent_at, message_id, mentioned (JSON),
# subscription_id, digest_date, claim_generation.
_MARK_SENT_SQL = _per_dialect(
    f'UPDATE "{db.delivery.name}" SET status = {{p}}, sent_at = {{p}}, message_id = {{p}}, mentioned = {{json}}, '
    "last_error = '' WHERE subscription_id = {p} AND digest_date = {p} AND status = 'claimed' "
    "AND claim_generation = {p}"
)


# A group's settling: claims marked skipped, failed or bounced (the many rows of one
# statement; under SQLAlchemy its IN list of pairs was compiled anew each time, with the
# writer's turn held). Parameters: status, last_error, subscription_id, digest_date,
# claim_generation.
_MARK_SQL = _per_dialect(
    f'UPDATE "{db.delivery.name}" SET status = {{p}}, last_error = {{p}} '
    "WHERE subscription_id = {p} AND digest_date = {p} AND status = 'claimed' AND claim_generation = {p}"
)
# Parameters: last_sent_date, id.
_LAST_SENT_SQL = _per_dialect(f'UPDATE "{db.subscription.name}" SET last_sent_date = {{p}} WHERE id = {{p}}')


def _driver_write_many(connection: Connection, sql: Mapping[str, str], rows: Sequence[tuple[object, ...]]) -> int:
    """One UPDATE for many parameter rows on the driver (in the caller's transaction, or
    one of its own committed durably); how many rows it changed."""
    if not rows:
        return 0
    dialect = connection.dialect.name
    driver: Any = connection.connection.driver_connection
    own_transaction = not connection.in_transaction()
    if dialect == "sqlite":
        rows = [tuple(db.sqlite_value(v) for v in row) for row in rows]
    cursor = driver.cursor()
    try:
        cursor.executemany(sql[dialect], rows)
        changed = cursor.rowcount  # summed over the rows, by both drivers
    finally:
        cursor.close()
    if own_transaction:
        driver.commit()
    return changed


def _driver_writes(
    connection: Connection, writes: Sequence[tuple[Mapping[str, str], tuple[object, ...]]], *, durable: bool
) -> list[bool]:
    """Run single-row UPDATEs on the driver, in one transaction; for each, did it change its row.

    Outside a transaction of the caller's they are a transaction of their own, committed
    at once: on PostgreSQL asynchronously unless ``durable`` (the caller then keeps what it
    wrote until a durable commit, to write it again after a server crash: see
    ``digest/delivery/deliver.py``).
    """
    dialect = connection.dialect.name
    driver: Any = connection.connection.driver_connection  # the DB-API connection under the pool's
    own_transaction = not connection.in_transaction()
    cursor = driver.cursor()
    try:
        if dialect == "postgresql" and own_transaction and not durable:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        changed = []
        for sql, values in writes:
            if dialect == "sqlite":
                values = tuple(db.sqlite_value(v) for v in values)
            cursor.execute(sql[dialect], values)
            changed.append(cursor.rowcount == 1)
    finally:
        cursor.close()
    if own_transaction:
        driver.commit()
    return changed


def _fence_write(claim: ClaimRef, now: dt.datetime) -> tuple[Mapping[str, str], tuple[object, ...]]:
    return _FENCE_SQL, (now, claim.subscription_id, claim.digest_date, claim.generation)


def _sent_write(sent: SentMark) -> tuple[Mapping[str, str], tuple[object, ...]]:
    claim = sent.claim
    values = (
        DeliveryStatus.SENT, sent.sent_at, sent.message_id, json.dumps(list(sent.mentioned)), claim.subscription_id,
        claim.digest_date, claim.generation,
    )
    return _MARK_SENT_SQL, values


def delivery_fence(connection: Connection, *, claim: ClaimRef, now: dt.datetime, durable: bool = False) -> bool:
    """May this claim still send? True (and its lease renewed to ``now``) while nobody
    took it over; False once it was taken over or expired: then do not send."""
    return _driver_writes(connection, [_fence_write(claim, now)], durable=durable)[0]


def delivery_mark_sent_and_fence(
    connection: Connection, *, sent: SentMark, claim: ClaimRef, now: dt.datetime, durable: bool = False
) -> tuple[bool, bool]:
    """The previous message's "sent" mark and the next one's fence, in one transaction:
    one commit per message. (Was the mark written, may the next claim send.)"""
    marked, fenced = _driver_writes(connection, [_sent_write(sent), _fence_write(claim, now)], durable=durable)
    return marked, fenced


def delivery_mark_sent(connection: Connection, *, sent: SentMark, durable: bool = False) -> bool:
    """Record one accepted message under its claim; False when the claim is not ours any more.

    On PostgreSQL this transaction commits asynchronously unless ``durable``: waiting for
    the WAL flush (about 1.5 ms here) would cap a worker near 600 messages a second. A
    worker crash loses nothing (the server flushes within a fraction of a second); a
    crash of the database server itself can forget the last moment's marks, so the
    worker keeps them until a durable commit and writes them again after an outage
    (``digest/delivery/deliver.py``). Claims stay synchronous, so no message is ever
    sent unclaimed.
    """
    return _driver_writes(connection, [_sent_write(sent)], durable=durable)[0]


def delivery_mark(
    connection: Connection,
    *,
    claims: Mapping[int, int],
    digest_date: dt.date,
    status: str,
    reason: str,
) -> int:
    """Settle claims ({subscription id → generation}) as skipped, failed or bounced,
    saying why; claims taken over meanwhile are left alone. How many were settled."""
    rows = [(status, reason[:2000], sid, digest_date, generation) for sid, generation in claims.items()]
    return _driver_write_many(connection, _MARK_SQL, rows)


def subscriptions_mark_sent(connection: Connection, *, subscription_ids: Sequence[int], digest_date: dt.date) -> int:
    """Date the subscriptions' last digest (with a group's settling: one statement, many rows)."""
    return _driver_write_many(connection, _LAST_SENT_SQL, [(digest_date, sid) for sid in subscription_ids])


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
