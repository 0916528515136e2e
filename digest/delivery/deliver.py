"""Delivering composed digests: claim in the ledger, check suppression, fence, send, mark.

Messages go in claim groups. Each group is claimed in one statement (the claim reads
the subscription's status in the same transaction, so an unsubscribe committed before
it wins); the run's status is re-read before each group, so a paused run stops and a
cancelled one sends nothing more. Before each send the unsubscribe suppression set is
consulted (read for many ids at once, never older than ``suppression_max_age``), then
the claim is *fenced*: one statement renews its lease if the claim is still ours (same
generation, still ``claimed``), and nothing is sent when it is not (another worker took
it over while this one was cut off or stalled). After the send the ledger records the
outcome under the same fence: a "sent" mark goes in one transaction with the next
message's fence (one commit per message), or with the group's settling, and alone before
anything that may block (the throttle, a read of the suppression set), so a worker
killed loses at most the one mark it had in hand. Whatever a group still holds when
something fails is released as failed (what the SMTP server accepted is never released:
its mark waits), so a retry need not wait for the claims to go stale.

On PostgreSQL the per-message writes commit asynchronously; the group keeps the marks
not yet covered by a durable commit and, after any database error, writes them again
(fenced, so harmlessly when they survived) with the next write in one durable
transaction: a server that crashed (``-m immediate``) and forgot them gets them back
before anyone could take the claims over.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from redis import Redis
from sqlalchemy import Connection, Engine, select, update

from digest.clock import Timings, timed, utcnow
from digest.delivery import ledger
from digest.delivery.transports import PermanentDeliveryError, TemporaryDeliveryError, Transport
from digest.errors import RunPaused
from digest.faults import DATABASE_ERRORS
from digest.stores import db
from digest.stores.keys import RedisKeys
from digest.stores.turns import write_turn
from digest.values import Outgoing
from digest.vocabulary import DeliveryStatus, RunStatus, SubscriptionStatus

log = logging.getLogger("lanyard.digest")

CLAIM_GROUP = 100  # deliveries claimed per statement; the run's status is re-read between groups
# How old the view of the unsubscribe suppression set may be when a message goes out:
# it is read for a whole claim group at once and read again once older than this.
SUPPRESSION_MAX_AGE = 0.2  # seconds
CLAIM_TIMEOUT = dt.timedelta(minutes=15)  # a claim older than this belongs to a dead worker
# How often (as a share of the claim timeout) the fence is committed durably: a crash of
# the database server then forgets at most this much of a lease's renewals.
DURABLE_EVERY = 1 / 8
MAX_PAUSE = 1.0  # seconds between tries while the database is away

_T = TypeVar("_T")


class Tally(Protocol):
    """Where delivery counts what it did as it goes (a chunk's result), so what a chunk
    stopped half-way did still counts."""

    sent: int
    skipped: int
    failed: int
    bounced: int
    notes: list[str]


@dataclass
class _Group:
    """One claim group on its way: the claims and what became of them so far."""

    claims: dict[int, ledger.Claim]  # subscription id → its claim
    durable_at: float  # time.monotonic() of the last durable commit of its lease
    skipped: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))  # reason → ids
    sent: list[Outgoing] = field(default_factory=list)
    accepted: set[int] = field(default_factory=set)  # the SMTP server has them: never released
    pending: ledger.SentMark | None = None  # accepted, its mark not written yet: goes with the next fence
    taken: list[int] = field(default_factory=list)  # claims another worker took over: not sent here
    # Marks committed asynchronously since the last durable commit, to write again after an outage.
    unflushed: list[Callable[[], object]] = field(default_factory=list)

    def generations(self, subscription_ids: Sequence[int]) -> dict[int, int]:
        return {sid: self.claims[sid].generation for sid in subscription_ids}


@dataclass(frozen=True)
class DeliveryLimits:
    """How fast and how long delivery may go: made once per worker process."""

    throttle: Callable[[], None] | None = None  # blocks until the next send may go (the rate limit)
    claim_timeout: dt.timedelta = CLAIM_TIMEOUT
    suppression_max_age: float = SUPPRESSION_MAX_AGE
    claim_group: int = CLAIM_GROUP


DEFAULT_LIMITS = DeliveryLimits()


class Delivery:
    """Claims, suppression, the transport and the ledger marks, for one worker process."""

    def __init__(
        self,
        *,
        engine: Engine,
        redis: Redis,
        keys: RedisKeys,
        transport: Callable[[], Transport],
        on_sent: Callable[[Sequence[Outgoing], dt.date], None],
        limits: DeliveryLimits = DEFAULT_LIMITS,
    ) -> None:
        """``transport`` returns the open transport (made on first use); ``on_sent`` is told
        each group's sent messages once the ledger committed them (the mention memory)."""
        self.engine, self.redis, self.keys = engine, redis, keys
        self.transport = transport
        self.on_sent = on_sent
        self.throttle = limits.throttle
        self.claim_timeout = limits.claim_timeout
        self.suppression_max_age = limits.suppression_max_age
        self.claim_group = limits.claim_group

    def deliver(
        self, *, run_id: int, digest_date: dt.date, outgoing: Sequence[Outgoing], tally: Tally, timings: Timings
    ) -> bool:
        """Send what is sendable of ``outgoing`` and settle every claim, counting into
        ``tally``; False when the run was cancelled midway (the rest were not claimed).
        Raises :class:`~digest.errors.RunPaused` when the run is paused between groups."""
        done = tally
        with self.engine.connect() as connection:
            for start in range(0, len(outgoing), self.claim_group):
                group = outgoing[start:start + self.claim_group]
                with timed(timings, "claim"):
                    claimed = self._claim(connection, run_id=run_id, digest_date=digest_date, group=group)
                if claimed is None:
                    return False
                try:
                    self._send_group(connection, group=group, claimed=claimed, digest_date=digest_date,
                                     done=done, timings=timings)
                except BaseException as error:
                    self._release(connection, run_id=run_id, digest_date=digest_date, claimed=claimed, error=error,
                                  done=done)
                    raise
                with timed(timings, "claim"):
                    self._settle(connection, digest_date=digest_date, claimed=claimed, done=done)
        return True

    # -- one group ------------------------------------------------------------------

    def _claim(
        self, connection: Connection, *, run_id: int, digest_date: dt.date, group: Sequence[Outgoing]
    ) -> _Group | None:
        """The group's claims, or None when the run was cancelled."""
        status = _run_status(connection, run_id=run_id)
        if status == RunStatus.CANCELLED:
            return None
        if status == RunStatus.PAUSED:
            raise RunPaused(f"run {run_id} is paused")
        claimed_at = utcnow()
        with write_turn(connection):
            claims = ledger.delivery_claim(
                connection, run_id=run_id, digest_date=digest_date, subscription_ids=[o.subscription_id for o in group],
                claimed_at=claimed_at, stale_before=claimed_at - self.claim_timeout,
            )
            connection.commit()  # durable: no message is ever sent unclaimed
        return _Group(claims=claims, durable_at=time.monotonic())

    def _send_group(
        self, connection: Connection, *, group: Sequence[Outgoing], claimed: _Group, digest_date: dt.date,
        done: Tally, timings: Timings,
    ) -> None:
        claims = claimed.claims
        suppression = _Suppression(self.redis, self.keys.unsubscribe_suppressed, self.suppression_max_age)
        sendable = [
            o.subscription_id for o in group
            if o.message is not None and o.subscription_id in claims
            and claims[o.subscription_id].status == SubscriptionStatus.ACTIVE
        ]
        for item in group:
            sid = item.subscription_id
            if sid not in claims:
                continue  # settled already, or another worker holds it
            if claims[sid].status != SubscriptionStatus.ACTIVE:
                claimed.skipped[f"subscription is {claims[sid].status}"].append(sid)
                continue
            if item.message is None:
                claimed.skipped["nothing new"].append(sid)
                continue
            if self.throttle is not None:
                # Before the fence, never between it and the send: a throttle held up (its
                # store cut off, a long wait for a slot) would age the fenced lease until
                # another worker took the claim over while this one still sent it. Nor
                # with a mark in hand: its lease would age the same way.
                with timed(timings, "claim"):
                    self._write_pending(connection, claimed=claimed, done=done)
                with timed(timings, "send"):
                    self.throttle()
            with timed(timings, "claim"):
                if not suppression.fresh(sid):  # a Redis read: it may block (Redis cut off)
                    self._write_pending(connection, claimed=claimed, done=done)
                # An unsubscribe made while this run goes lands in this set first.
                if suppression.contains(sid, upcoming=sendable):
                    claimed.skipped["unsubscribed during the run"].append(sid)
                    continue
                if not self._fence(connection, item=item, digest_date=digest_date, claimed=claimed, done=done):
                    claimed.taken.append(sid)
                    continue
            outcome = self._send(connection, item=item, digest_date=digest_date, claimed=claimed, done=done,
                                 timings=timings)
            if outcome == DeliveryStatus.SENT:
                claimed.sent.append(item)
                done.sent += 1
            elif outcome == DeliveryStatus.BOUNCED:
                done.bounced += 1
            else:
                done.failed += 1

    def _fence(
        self, connection: Connection, *, item: Outgoing, digest_date: dt.date, claimed: _Group, done: Tally
    ) -> bool:
        """Is the claim still ours? (Its lease renewed when it is.) The previous message's
        "sent" mark goes in the same transaction. Now and then durably, so a database
        server's crash forgets little of the lease."""
        durable = time.monotonic() - claimed.durable_at > self.claim_timeout.total_seconds() * DURABLE_EVERY
        trusted_for = self.claim_timeout.total_seconds() / 2
        claim = ledger.ClaimRef(item.subscription_id, digest_date, claimed.claims[item.subscription_id].generation)
        pending = claimed.pending

        def fence() -> tuple[bool, bool]:
            # An answer that took longer than half the lease (a host cut off mid-statement,
            # its reply arriving when the network came back) is not trusted: the claim may
            # have been taken over meanwhile. Left alone, it goes stale and is resent.
            asked = time.monotonic()
            if pending is None:
                marked, ours = True, ledger.delivery_fence(connection, claim=claim, now=utcnow(), durable=durable)
            else:
                marked, ours = ledger.delivery_mark_sent_and_fence(
                    connection, sent=pending, claim=claim, now=utcnow(), durable=durable
                )
            return marked, ours and time.monotonic() - asked < trusted_for

        marked, ours = self._patiently(connection, fence, claimed=claimed, done=done)
        self._pending_written(connection, claimed=claimed, marked=marked, done=done)
        if durable:
            claimed.durable_at = time.monotonic()
            claimed.unflushed.clear()  # a durable commit flushes every earlier one with it
        return ours

    def _send(
        self, connection: Connection, *, item: Outgoing, digest_date: dt.date, claimed: _Group, done: Tally,
        timings: Timings,
    ) -> DeliveryStatus:
        sid, message = item.subscription_id, item.message
        assert message is not None, "only a digest with news is sent"
        with timed(timings, "send"):
            try:
                self.transport().send(sender=item.envelope_sender, recipient=item.email, message=message)
            except TemporaryDeliveryError as error:
                outcome, reason = DeliveryStatus.FAILED, str(error) or "temporary delivery failure"
            except PermanentDeliveryError as error:
                outcome, reason = DeliveryStatus.BOUNCED, str(error) or "permanent delivery failure"
            else:
                outcome, reason = DeliveryStatus.SENT, ""
        generation = claimed.claims[sid].generation
        if outcome == DeliveryStatus.SENT:
            # The message is out: its mark goes with the next write (see the module's docstring).
            claimed.accepted.add(sid)
            claimed.pending = ledger.SentMark(
                ledger.ClaimRef(sid, digest_date, generation), item.message_id, sorted(item.mentioned), utcnow()
            )
            return outcome
        with timed(timings, "claim"):
            mark = functools.partial(
                ledger.delivery_mark, connection, claims={sid: generation}, digest_date=digest_date, status=outcome,
                reason=reason,
            )
            self._patiently(connection, mark, claimed=claimed, done=done)
            if outcome == DeliveryStatus.BOUNCED:
                s = db.subscription
                connection.execute(
                    update(s)
                    .where(s.c.id == sid, s.c.status == SubscriptionStatus.ACTIVE)
                    .values(status=SubscriptionStatus.BOUNCING, updated_at=utcnow())
                )
                connection.commit()
        return outcome

    def _settle(self, connection: Connection, *, digest_date: dt.date, claimed: _Group, done: Tally) -> None:
        """Mark the last sent one and the skipped ones and date the sent ones' subscriptions,
        durably (with any marks an outage may have cost), then tell ``on_sent``."""
        sent_ids = [o.subscription_id for o in claimed.sent]
        pending = claimed.pending

        def settle() -> bool:
            if not connection.in_transaction():
                connection.begin()  # the driver's mark joins this transaction: durable
            marked = pending is None or ledger.delivery_mark_sent(connection, sent=pending)
            for reason, ids in claimed.skipped.items():
                ledger.delivery_mark(connection, claims=claimed.generations(ids), digest_date=digest_date,
                                     status=DeliveryStatus.SKIPPED, reason=reason)
            ledger.subscriptions_mark_sent(connection, subscription_ids=sent_ids, digest_date=digest_date)
            return marked

        marked = self._patiently(connection, settle, claimed=claimed, done=done)
        self._pending_written(connection, claimed=claimed, marked=marked, done=done)
        claimed.unflushed.clear()
        done.skipped += sum(len(ids) for ids in claimed.skipped.values())
        if claimed.taken:
            done.notes.append("claims taken over by another worker were left to it (not sent here)")
        if claimed.sent:
            self.on_sent(claimed.sent, digest_date)

    def _release(
        self, connection: Connection, *, run_id: int, digest_date: dt.date, claimed: _Group, error: BaseException,
        done: Tally,
    ) -> None:
        """Mark what the group still holds failed; what the SMTP server accepted is not
        released (its mark is written again with the release, and at worst goes stale)."""
        held = [sid for sid in claimed.claims if sid not in claimed.accepted and sid not in claimed.taken]
        _drop(connection)
        if claimed.pending is not None:  # written with the release, as the marks an outage may have cost
            claimed.unflushed.append(functools.partial(ledger.delivery_mark_sent, connection, sent=claimed.pending))
        release = functools.partial(
            ledger.delivery_mark, connection, claims=claimed.generations(held), digest_date=digest_date,
            status=DeliveryStatus.FAILED, reason=f"not sent: {error}",
        )
        try:
            self._patiently(connection, release, claimed=claimed, done=done, replay=True)
        except DATABASE_ERRORS as failure:
            # The claims go stale and are taken over later; the caller raises the first error.
            log.warning("run %s: could not release %d claims (%s); they go stale", run_id, len(held), failure)

    def _write_pending(self, connection: Connection, *, claimed: _Group, done: Tally) -> None:
        """Write the "sent" mark in hand now, alone (before something that may block)."""
        if claimed.pending is not None:
            mark = functools.partial(ledger.delivery_mark_sent, connection, sent=claimed.pending)
            marked = self._patiently(connection, mark, claimed=claimed, done=done)
            self._pending_written(connection, claimed=claimed, marked=marked, done=done)

    @staticmethod
    def _pending_written(connection: Connection, *, claimed: _Group, marked: bool, done: Tally) -> None:
        """The mark in hand was committed (``marked``: it landed); kept to write again after an outage."""
        if claimed.pending is None:
            return
        if not marked:
            done.notes.append("a claim was taken over while its message was being sent: it may go twice")
        claimed.unflushed.append(functools.partial(ledger.delivery_mark_sent, connection, sent=claimed.pending))
        claimed.pending = None

    def _patiently(
        self, connection: Connection, write: Callable[[], _T], *, claimed: _Group, done: Tally,
        replay: bool = False,
    ) -> _T:
        """Run a ledger write and commit it, waiting out a database that is away; its result.

        After a failure (or with ``replay``) the group's marks not yet known durable are
        written again with it, in one durable transaction: a server that crashed may have
        lost them. Every write is fenced, so a late one is refused rather than wrong; the
        wait ends after the claim timeout, when the claims may be another worker's anyway.
        """
        deadline = time.monotonic() + self.claim_timeout.total_seconds()
        pause = 0.1
        waited = False  # a caller's replay (a release after a Redis error) is no database outage
        while True:
            try:
                with write_turn(connection):
                    result = self._write(connection, write, claimed=claimed, replay=replay)
                if waited:
                    done.notes.append(
                        "the database went away mid-send: the worker waited for it to record what was sent"
                    )
                return result
            except DATABASE_ERRORS:
                _drop(connection)
                replay = waited = True
                if time.monotonic() + pause > deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, MAX_PAUSE)

    @staticmethod
    def _write(connection: Connection, write: Callable[[], _T], *, claimed: _Group, replay: bool) -> _T:
        """One try of :meth:`_patiently`: the write (after the marks not known durable, when
        ``replay``), committed."""
        if replay:
            if not connection.in_transaction():
                connection.begin()
            for mark in claimed.unflushed:
                mark()
        result = write()
        connection.commit()
        if replay:
            claimed.unflushed.clear()
            claimed.durable_at = time.monotonic()
        return result


class _Suppression:
    """Membership in the unsubscribe suppression set, read for many ids per round trip
    and re-read once the answer is older than ``max_age`` seconds (0: before every send)."""

    def __init__(self, redis: Redis, key: str, max_age: float) -> None:
        self.redis, self.key, self.max_age = redis, key, max_age
        self.known: dict[int, bool] = {}
        self.read_at = float("-inf")

    def fresh(self, subscription_id: int) -> bool:
        """Is this id's answer known without reading Redis?"""
        return subscription_id in self.known and time.monotonic() - self.read_at <= self.max_age

    def contains(self, subscription_id: int, *, upcoming: Sequence[int]) -> bool:
        if not self.fresh(subscription_id):
            ids = [subscription_id] if self.max_age <= 0 else list(dict.fromkeys([subscription_id, *upcoming]))
            self.read_at = time.monotonic()
            self.known = dict(zip(ids, (bool(m) for m in self.redis.smismember(self.key, ids)), strict=True))
        return self.known[subscription_id]


def _drop(connection: Connection) -> None:
    """After a failed write: give the DB-API connection up, so the next statement opens a
    new one (one the server dropped, that the driver still thinks open, would fail every
    try), and end the transaction."""
    connection.invalidate()
    with contextlib.suppress(*DATABASE_ERRORS):
        connection.rollback()


def _run_status(connection: Connection, *, run_id: int) -> str | None:
    """The run's status, read in the claim's connection before each group (a pause or a
    cancel takes effect between groups). Delivery only reads the run's row: its owner,
    ``digest/runs/``, sits above delivery and reads the ledger's totals."""
    return connection.execute(select(db.digest_run.c.status).where(db.digest_run.c.id == run_id)).scalar()
