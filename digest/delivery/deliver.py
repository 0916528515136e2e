"""Delivering composed digests: claim in the ledger, check suppression, send, mark.

Messages go in claim groups. Each group is claimed in one statement (the claim reads
the subscription's status in the same transaction, so an unsubscribe committed before
it wins); the run's status is re-read before each group, so a paused run stops and a
cancelled one sends nothing more. Before each send the unsubscribe suppression set is
consulted (read for many ids at once, never older than ``suppression_max_age``); after
it the ledger records the outcome at once. Whatever a group still holds when something
fails is released as failed, so a retry need not wait for the claims to go stale.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from redis import Redis
from sqlalchemy import Connection, Engine, update

from digest import runs
from digest.clock import Timings, timed, utcnow
from digest.delivery import ledger
from digest.delivery.transports import PermanentDeliveryError, TemporaryDeliveryError, Transport
from digest.faults import DATABASE_ERRORS
from digest.stores import db
from digest.stores.keys import RedisKeys
from digest.values import Outgoing
from digest.vocabulary import DeliveryStatus, RunStatus, SubscriptionStatus

log = logging.getLogger("lanyard.digest")

CLAIM_GROUP = 100  # deliveries claimed per statement; the run's status is re-read between groups
# How old the view of the unsubscribe suppression set may be when a message goes out:
# it is read for a whole claim group at once and read again once older than this.
SUPPRESSION_MAX_AGE = 0.2  # seconds
CLAIM_TIMEOUT = dt.timedelta(minutes=15)  # a claim older than this belongs to a dead worker


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

    claims: dict[int, str]  # subscription id → its status when claimed
    claimed_at: dt.datetime
    skipped: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))  # reason → ids
    sent: list[Outgoing] = field(default_factory=list)


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
        throttle: Callable[[], None] | None = None,
        claim_timeout: dt.timedelta = CLAIM_TIMEOUT,
        suppression_max_age: float = SUPPRESSION_MAX_AGE,
        claim_group: int = CLAIM_GROUP,
    ) -> None:
        """``transport`` returns the open transport (made on first use); ``on_sent`` is told
        each group's sent messages once the ledger committed them (the mention memory)."""
        self.engine, self.redis, self.keys = engine, redis, keys
        self.transport = transport
        self.on_sent = on_sent
        self.throttle = throttle
        self.claim_timeout = claim_timeout
        self.suppression_max_age = suppression_max_age
        self.claim_group = claim_group

    def deliver(
        self, *, run_id: int, digest_date: dt.date, outgoing: Sequence[Outgoing], tally: Tally, timings: Timings
    ) -> bool:
        """Send what is sendable of ``outgoing`` and settle every claim, counting into
        ``tally``; False when the run was cancelled midway (the rest were not claimed).
        Raises :class:`~digest.runs.RunPaused` when the run is paused between groups."""
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
        status = runs.run_status(connection, run_id=run_id)
        if status == RunStatus.CANCELLED:
            return None
        if status == RunStatus.PAUSED:
            raise runs.RunPaused(f"run {run_id} is paused")
        claimed_at = utcnow()
        claims = ledger.delivery_claim(
            connection, run_id=run_id, digest_date=digest_date, subscription_ids=[o.subscription_id for o in group],
            claimed_at=claimed_at, stale_before=claimed_at - self.claim_timeout,
        )
        connection.commit()
        return _Group(claims=claims, claimed_at=claimed_at)

    def _send_group(
        self, connection: Connection, *, group: Sequence[Outgoing], claimed: _Group, digest_date: dt.date,
        done: Tally, timings: Timings,
    ) -> None:
        claims = claimed.claims
        suppression = _Suppression(self.redis, self.keys.unsubscribe_suppressed, self.suppression_max_age)
        sendable = [
            o.subscription_id for o in group
            if o.message is not None and claims.get(o.subscription_id) == SubscriptionStatus.ACTIVE
        ]
        for item in group:
            sid = item.subscription_id
            if sid not in claims:
                continue  # settled already, or another worker holds it
            if claims[sid] != SubscriptionStatus.ACTIVE:
                claimed.skipped[f"subscription is {claims[sid]}"].append(sid)
                continue
            if item.message is None:
                claimed.skipped["nothing new"].append(sid)
                continue
            with timed(timings, "claim"):
                # An unsubscribe made while this run goes lands in this set first.
                if suppression.contains(sid, upcoming=sendable):
                    claimed.skipped["unsubscribed during the run"].append(sid)
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

    def _send(
        self, connection: Connection, *, item: Outgoing, digest_date: dt.date, claimed: _Group, done: Tally,
        timings: Timings,
    ) -> DeliveryStatus:
        sid, message = item.subscription_id, item.message
        assert message is not None, "only a digest with news is sent"
        with timed(timings, "send"):
            if self.throttle is not None:
                self.throttle()
            try:
                self.transport().send(sender=item.envelope_sender, recipient=item.email, message=message)
            except TemporaryDeliveryError as error:
                outcome, reason = DeliveryStatus.FAILED, str(error) or "temporary delivery failure"
            except PermanentDeliveryError as error:
                outcome, reason = DeliveryStatus.BOUNCED, str(error) or "permanent delivery failure"
            else:
                outcome, reason = DeliveryStatus.SENT, ""
        with timed(timings, "claim"):
            if outcome == DeliveryStatus.SENT:
                # The message is out: the mark must follow it, so a database away for a
                # moment is waited for rather than leaving the claim to go stale.
                mark_sent = functools.partial(
                    ledger.delivery_mark_sent, connection, subscription_id=sid, digest_date=digest_date,
                    claimed_at=claimed.claimed_at, message_id=item.message_id, mentioned=sorted(item.mentioned),
                )
                self._patiently(connection, mark_sent, done=done)
                return outcome
            ledger.delivery_mark(
                connection, subscription_ids=[sid], digest_date=digest_date, claimed_at=claimed.claimed_at,
                status=outcome, reason=reason,
            )
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
        """Mark the skipped ones, date the sent ones' subscriptions, then tell ``on_sent``."""
        for reason, ids in claimed.skipped.items():
            ledger.delivery_mark(
                connection, subscription_ids=ids, digest_date=digest_date, claimed_at=claimed.claimed_at,
                status=DeliveryStatus.SKIPPED, reason=reason,
            )
            done.skipped += len(ids)
        if claimed.sent:
            s = db.subscription
            connection.execute(
                update(s)
                .where(s.c.id.in_([o.subscription_id for o in claimed.sent]))
                .values(last_sent_date=digest_date)
            )
        connection.commit()
        if claimed.sent:
            self.on_sent(claimed.sent, digest_date)

    def _release(
        self, connection: Connection, *, run_id: int, digest_date: dt.date, claimed: _Group, error: BaseException,
        done: Tally,
    ) -> None:
        """Mark what the group still holds failed (sent ones were marked one by one)."""
        sent_ids = {o.subscription_id for o in claimed.sent}
        held = [sid for sid in claimed.claims if sid not in sent_ids]
        _rollback(connection)
        release = functools.partial(
            ledger.delivery_mark, connection, subscription_ids=held, digest_date=digest_date,
            claimed_at=claimed.claimed_at, status=DeliveryStatus.FAILED, reason=f"not sent: {error}",
        )
        try:
            self._patiently(connection, release, done=done)
        except DATABASE_ERRORS as failure:
            # The claims go stale and are taken over later; the caller raises the first error.
            log.warning("run %s: could not release %d claims (%s); they go stale", run_id, len(held), failure)

    def _patiently(self, connection: Connection, write: Callable[[], object], *, done: Tally) -> None:
        """Run a ledger write and commit it, waiting out a database that is away.

        Retried with growing pauses for up to half the claim timeout: past that the
        claim may be taken over by another worker, and the write would no longer be ours.
        """
        deadline = time.monotonic() + self.claim_timeout.total_seconds() / 2
        pause = 0.1
        while True:
            try:
                write()
                connection.commit()
                if pause > 0.1:
                    done.notes.append(
                        "the database went away mid-send: the worker waited for it to record what was sent"
                    )
                return
            except DATABASE_ERRORS:
                _rollback(connection)
                if time.monotonic() + pause > deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 2.0)


class _Suppression:
    """Membership in the unsubscribe suppression set, read for many ids per round trip
    and re-read once the answer is older than ``max_age`` seconds (0: before every send)."""

    def __init__(self, redis: Redis, key: str, max_age: float) -> None:
        self.redis, self.key, self.max_age = redis, key, max_age
        self.known: dict[int, bool] = {}
        self.read_at = float("-inf")

    def contains(self, subscription_id: int, *, upcoming: Sequence[int]) -> bool:
        if subscription_id not in self.known or time.monotonic() - self.read_at > self.max_age:
            ids = [subscription_id] if self.max_age <= 0 else list(dict.fromkeys([subscription_id, *upcoming]))
            self.read_at = time.monotonic()
            self.known = dict(zip(ids, (bool(m) for m in self.redis.smismember(self.key, ids)), strict=True))
        return self.known[subscription_id]


def _rollback(connection: Connection) -> None:
    """Roll back after a failed statement; on a connection the server dropped, give the
    connection up so the next statement opens a new one."""
    try:
        connection.rollback()
    except DATABASE_ERRORS:
        connection.invalidate()
        connection.rollback()
