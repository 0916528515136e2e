"""The nightly digest's work on one chunk of a run.

:class:`Pipeline` (one per worker process) processes a chunk: friend events (a strategy
from ``digest/nightly/friends.py``) → hydrate events and people in bulk → build ``Digest``
values → sign unsubscribe tokens → render → MIME → deliver, claiming each delivery in
the ledger (``digest/delivery/ledger.py``) before sending it. The run itself (planning, its
status, finishing) belongs to ``digest/runs.py``; ``digest/nightly/batch.py`` is how
``lanyard digest run`` and the Celery tasks drive chunks through both.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from sqlalchemy import Connection, Engine, select, update

from digest import runs
from digest.bounces.verp import ReturnPath
from digest.clock import utcnow
from digest.config import Settings
from digest.delivery import ledger
from digest.delivery.transports import PermanentDeliveryError, TemporaryDeliveryError, Transport, make_transport
from digest.faults import DATABASE_ERRORS
from digest.graph.store import Graph, GraphMissing, day_number
from digest.graph.sync import Healing as GraphHealing
from digest.graph.sync import heal as graph_heal
from digest.links import manage_link, unsubscribe_link
from digest.nightly.build import Links, build_digest, date_order, people_to_hydrate, select_events, upcoming_window
from digest.nightly.friends import FriendEventsStrategy, make_friend_strategy
from digest.nightly.hydrate import SubscriptionRow, batches, event_cards, person_cards, subscriptions_by_id
from digest.nightly.message import DkimSigner, build_message, make_list_id, make_message_id, sender_domain, sender_name
from digest.nightly.render import Renderer
from digest.runs import ChunkRecord
from digest.search.index import SearchMissing
from digest.search.sync import Healing as SearchHealing
from digest.search.sync import heal as search_heal
from digest.stores import db
from digest.stores.keys import RedisKeys
from digest.stores.redis_store import connect
from digest.stores.scripts import lua
from digest.tokens import DeliveryRef, FeedRef, ReturnPathSigner, SubscriptionRef, TokenSigner
from digest.values import Digest, Window
from digest.vocabulary import FINAL_DELIVERY_STATUSES, DeliveryStatus, RunStatus, SubscriptionStatus

log = logging.getLogger("lanyard.digest")

CLAIM_GROUP = 100  # deliveries claimed per statement; the run's status is re-read between groups
# How old the view of the unsubscribe suppression set may be when a message goes out:
# it is read for a whole claim group at once and read again once older than this.
SUPPRESSION_MAX_AGE = 0.2  # seconds
CLAIM_TIMEOUT = dt.timedelta(minutes=15)  # a claim older than this belongs to a dead worker
MENTIONED_TTL = 400 * 86400  # seconds: a lapsed subscription's memory goes eventually
MENTION_LOADED = b"0"  # the member (scored +inf) that marks a subscription's copy in Redis as whole

_REMEMBER_LUA = lua("mentions_remember")

Timings = dict[str, float]  # stage → seconds, summed
CARD_CACHE_SECONDS = 30.0  # how long hydrated event and person cards are reused within a run


class RunPaused(RuntimeError):
    """The run is paused; process the chunk again after it resumes."""


@dataclass
class ChunkResult(ChunkRecord):
    """What processing a chunk did (a :class:`~digest.runs.ChunkRecord` for its run)."""

    cancelled: bool = False


@dataclass(frozen=True)
class Prepared:
    """One subscription's digest, ready to deliver (``message`` None: nothing new)."""

    subscription: SubscriptionRow
    digest: Digest | None = None
    message: bytes | None = None
    message_id: str = ""
    envelope_sender: str = ""  # the signed return path (VERP) bounces come back to
    html: str = ""
    mentioned: dict[int, int] = field(default_factory=dict)  # event id → start day, to remember


def forget_mentions(redis: Redis, prefix: str) -> int:
    """Forget the cached copies of what every digest mentioned (after the data is replaced: ids are reused)."""
    keys = list(redis.scan_iter(match=RedisKeys(prefix).mentioned_pattern(), count=5000))
    for start in range(0, len(keys), 5000):
        redis.delete(*keys[start:start + 5000])
    return len(keys)


# -- processing ----------------------------------------------------------------------


class Pipeline:
    """Everything a worker process needs to turn chunks of subscriptions into emails.

    Built once per process: the renderer has loaded its templates and inlined their CSS,
    the transport keeps its connection open between chunks.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Engine | None = None,
        redis: Redis | None = None,
        transport: Transport | None = None,
        throttle: Callable[[], None] | None = None,
        strategy: FriendEventsStrategy | None = None,
        claim_timeout: dt.timedelta = CLAIM_TIMEOUT,
        suppression_max_age: float = SUPPRESSION_MAX_AGE,
    ):
        self.settings = settings
        self._own_engine = engine is None
        self.engine = engine if engine is not None else db.make_engine(settings.database)
        # The bulk reads of the catalogue (events and people to hydrate) go to the read replica
        # when there is one; the ledger, claims and run rows stay on the primary.
        self._own_read_engine = settings.database_replica is not None
        self.read_engine = (
            db.make_engine(settings.database_replica) if settings.database_replica is not None else self.engine
        )
        self.redis = redis if redis is not None else connect(settings)
        self.keys = RedisKeys(settings.redis_prefix)
        self.graph = Graph(self.redis, settings.redis_prefix)
        self.strategy = strategy or make_friend_strategy(settings, graph=self.graph)
        self.renderer = Renderer.from_settings(settings)
        self.dkim = DkimSigner.from_settings(settings)
        self.signer = TokenSigner(settings.secret_keys)
        self.links = Links(
            settings.base_url, manage_link(settings), sender_name=sender_name(settings.mail_from),
            postal_address=settings.postal_address,
        )
        self.domain = sender_domain(settings.mail_from)
        self.return_path = ReturnPath(ReturnPathSigner(settings.secret_keys), settings.bounce_domain or self.domain)
        self.throttle = throttle
        self.claim_timeout = claim_timeout
        self.suppression_max_age = suppression_max_age
        self._transport = transport
        self._own_transport = transport is None
        # Events and people recur in every chunk of a run; cards are reused for a while.
        self._event_cards = _CardCache(CARD_CACHE_SECONDS)
        self._person_cards = _CardCache(CARD_CACHE_SECONDS)
        self._run_id: int | None = None
        self._notes: list[str] = []  # what the chunk being processed met, for its run's notes
        self._remember_script = self.redis.register_script(_REMEMBER_LUA)

    @property
    def transport(self) -> Transport:
        if self._transport is None:
            self._transport = make_transport(self.settings)
        return self._transport

    def close(self) -> None:
        if self._transport is not None and self._own_transport:
            self._transport.close()
            self._transport = None
        if self._own_engine:
            self.engine.dispose()
        if self._own_read_engine:
            self.read_engine.dispose()

    # -- a chunk --------------------------------------------------------------------

    def process_chunk(self, *, run_id: int, subscription_ids: Sequence[int]) -> ChunkResult:
        result = ChunkResult()
        self._notes = result.notes
        timings: dict[str, float] = defaultdict(float)
        run = runs.run_get(self.engine, run_id=run_id)
        if run["status"] == RunStatus.PAUSED:
            raise RunPaused(f"run {run_id} is paused")
        if run_id != self._run_id:
            # A new run reads the stores afresh rather than through the last run's caches.
            self._run_id = run_id
            self._event_cards.clear()
            self._person_cards.clear()
            forget = getattr(self.strategy, "forget", None)
            if forget is not None:
                forget()
        if run["status"] == RunStatus.CANCELLED:
            result.cancelled = True
            return result
        digest_date, dry_run = run["digest_date"], run["dry_run"]
        try:
            with _timed(timings, "select"), self.engine.connect() as connection:
                subscriptions = _unsettled(connection, subscription_ids, digest_date, run["list"])
            # Inactive ones are claimed and settled as skipped without computing anything.
            active = [s for s in subscriptions if s.status == SubscriptionStatus.ACTIVE]
            prepared = self.prepare(active, digest_date=digest_date, timings=timings, notes=result.notes)
            prepared += [Prepared(subscription=s) for s in subscriptions if s.status != SubscriptionStatus.ACTIVE]
            if dry_run:
                for item in prepared:
                    if item.message is None:
                        result.skipped += 1
                    else:
                        result.sent += 1
            else:
                self._deliver(run_id, digest_date, prepared, result, timings)
        finally:
            result.timings = dict(timings)
            result.notes.append(f"friends strategy: {self.strategy.name}")
            # Counters, timings and notes go in even when the chunk stops half-way
            # (paused, cancelled, a store failing), unless the database is what failed.
            try:
                runs.run_record(self.engine, run_id=run_id, record=result)
            except DATABASE_ERRORS as failure:
                log.warning("run %s: could not record a chunk's counters (%s); the ledger has them", run_id, failure)
        return result

    def prepare(self, subscriptions: Sequence[SubscriptionRow], *, digest_date: dt.date, timings: dict | None = None,
                notes: list[str] | None = None) -> list[Prepared]:
        """Compute, hydrate, build, sign, render and build the MIME of each digest.

        A missing Redis graph (or search index) is rebuilt from the database first;
        ``notes`` gets a line saying so.
        """
        timings = timings if timings is not None else defaultdict(float)
        if not subscriptions:
            return []
        window = upcoming_window(digest_date)
        with _timed(timings, "friends"):
            found = self._friend_events([s.person_id for s in subscriptions], window, notes)
            mentioned = self._mentioned([s.id for s in subscriptions], window)

        with _timed(timings, "hydrate"), self.read_engine.connect() as connection:
            empty: dict = {}
            event_ids = set().union(*(found.get(s.person_id, empty).keys() for s in subscriptions))
            events = self._event_cards.get(event_ids, lambda ids: event_cards(connection, ids, self.links))
            starts = {e: card.start_date for e, card in events.items()}
            order = date_order(starts)
            rank = {e: i for i, e in enumerate(order)}
            selections = {
                s.id: select_events(
                    found.get(s.person_id, empty),
                    order,
                    rank,
                    mentioned.get(s.id, ()),
                    starts=starts,
                    digest_date=digest_date,
                )
                for s in subscriptions
            }
            people_ids = {s.person_id for s in subscriptions}
            for s in subscriptions:
                if not selections[s.id].empty:
                    people_ids |= people_to_hydrate(found[s.person_id], selections[s.id])
            people = self._person_cards.get(people_ids, lambda ids: person_cards(connection, ids))

        prepared: list[Prepared] = []
        for s in subscriptions:
            selection = selections[s.id]
            if selection.empty or s.person_id not in people:
                prepared.append(Prepared(subscription=s))
                continue
            with _timed(timings, "sign"):
                unsubscribe_url = unsubscribe_link(self.settings, self.signer, SubscriptionRef(s.id, s.list_name))
                recipient = people[s.person_id]
                feed_url = self.links.feed(self.signer.sign_feed(FeedRef(recipient.id, recipient.feed_version)))
            with _timed(timings, "build"):
                digest = build_digest(
                    subscription_id=s.id, list_name=s.list_name, email=s.email, recipient=people[s.person_id],
                    digest_date=digest_date, friends=found[s.person_id], selection=selection, events=events,
                    people=people, links=self.links, unsubscribe_url=unsubscribe_url, feed_url=feed_url,
                )
            with _timed(timings, "render"):
                rendered = self.renderer.render(digest)
            with _timed(timings, "mime"):
                message_id = make_message_id(subscription_id=s.id, digest_date=digest_date, domain=self.domain)
                message = build_message(
                    rendered=rendered, digest=digest, sender=self.settings.mail_from,
                    list_id=make_list_id(list_name=s.list_name, domain=self.domain),
                    unsubscribe_url=unsubscribe_url,
                    unsubscribe_mailto=unsubscribe_mailto(self.domain, unsubscribe_url),
                    feedback_id=f"{digest_date:%Y%m%d}:{s.list_name}:digest:{self.domain}",
                    message_id=message_id, dkim=self.dkim,
                )
            prepared.append(Prepared(
                subscription=s, digest=digest, message=message, message_id=message_id, html=rendered.html,
                envelope_sender=self.return_path.address(DeliveryRef(s.id, digest_date)),
                mentioned={e: day_number(starts[e]) for e in selection.new},
            ))
        return prepared

    def _deliver(
        self, run_id: int, digest_date: dt.date, prepared: list[Prepared], result: ChunkResult, timings: Timings
    ) -> None:
        with self.engine.connect() as connection:
            for start in range(0, len(prepared), CLAIM_GROUP):
                group = prepared[start:start + CLAIM_GROUP]
                with _timed(timings, "claim"):
                    status = runs.run_status(connection, run_id=run_id)
                    if status == RunStatus.CANCELLED:
                        result.cancelled = True
                        return
                    if status == RunStatus.PAUSED:
                        raise RunPaused(f"run {run_id} is paused")
                    claimed_at = utcnow()
                    claims = ledger.delivery_claim(
                        connection, run_id=run_id, digest_date=digest_date,
                        subscription_ids=[p.subscription.id for p in group], claimed_at=claimed_at,
                        stale_before=claimed_at - self.claim_timeout,
                    )
                    connection.commit()
                skipped: dict[str, list[int]] = defaultdict(list)
                sent: list[Prepared] = []
                try:
                    self._deliver_group(
                        connection, group, claims, digest_date, claimed_at, skipped, sent, result, timings
                    )
                except BaseException as error:
                    # Release what this group still holds, so a retry need not wait for
                    # the claims to go stale (sent ones were marked one by one).
                    sent_ids = {p.subscription.id for p in sent}
                    held = [sid for sid in claims if sid not in sent_ids]
                    reason = f"not sent: {error}"
                    _rollback(connection)
                    release = functools.partial(
                        ledger.delivery_mark, connection, subscription_ids=held, digest_date=digest_date,
                        claimed_at=claimed_at, status=DeliveryStatus.FAILED, reason=reason,
                    )
                    try:
                        self._patiently(connection, release)
                    except DATABASE_ERRORS as failure:
                        # The claims go stale and are taken over later; the first error is the one raised.
                        log.warning("run %s: could not release %d claims (%s)", run_id, len(held), failure)
                    raise
                with _timed(timings, "claim"):
                    for reason, ids in skipped.items():
                        ledger.delivery_mark(
                            connection, subscription_ids=ids, digest_date=digest_date, claimed_at=claimed_at,
                            status=DeliveryStatus.SKIPPED, reason=reason,
                        )
                        result.skipped += len(ids)
                    if sent:
                        s = db.subscription
                        connection.execute(
                            update(s)
                            .where(s.c.id.in_([p.subscription.id for p in sent]))
                            .values(last_sent_date=digest_date)
                        )
                    connection.commit()
                    self._remember(sent, digest_date)

    def _deliver_group(
        self, connection: Connection, group: list[Prepared], claims: dict[int, str], digest_date: dt.date,
        claimed_at: dt.datetime, skipped: dict[str, list[int]], sent: list[Prepared], result: ChunkResult,
        timings: Timings,
    ) -> None:
        suppression = _Suppression(self.redis, self.keys.unsubscribe_suppressed, self.suppression_max_age)
        sendable = [
            p.subscription.id
            for p in group
            if p.message is not None and claims.get(p.subscription.id) == SubscriptionStatus.ACTIVE
        ]
        for item in group:
            sid = item.subscription.id
            if sid not in claims:
                continue  # settled already, or another worker holds it
            if claims[sid] != SubscriptionStatus.ACTIVE:
                skipped[f"subscription is {claims[sid]}"].append(sid)
                continue
            if item.message is None:
                skipped["nothing new"].append(sid)
                continue
            with _timed(timings, "claim"):
                # An unsubscribe made while this run goes lands in this set first.
                if suppression.contains(sid, upcoming=sendable):
                    skipped["unsubscribed during the run"].append(sid)
                    continue
            outcome = self._send(connection, item, digest_date, claimed_at, timings)
            if outcome == DeliveryStatus.SENT:
                sent.append(item)
                result.sent += 1
            elif outcome == DeliveryStatus.BOUNCED:
                result.bounced += 1
            else:
                result.failed += 1

    def _send(
        self, connection: Connection, item: Prepared, digest_date: dt.date, claimed_at: dt.datetime, timings: Timings
    ) -> str:
        sid = item.subscription.id
        assert item.message is not None, "only a digest with news is sent"
        with _timed(timings, "send"):
            if self.throttle is not None:
                self.throttle()
            try:
                self.transport.send(
                    sender=item.envelope_sender, recipient=item.subscription.email, message=item.message
                )
            except TemporaryDeliveryError as error:
                outcome, reason = DeliveryStatus.FAILED, str(error) or "temporary delivery failure"
            except PermanentDeliveryError as error:
                outcome, reason = DeliveryStatus.BOUNCED, str(error) or "permanent delivery failure"
            else:
                outcome, reason = DeliveryStatus.SENT, ""
        with _timed(timings, "claim"):
            if outcome == DeliveryStatus.SENT:
                # The message is out: the mark must follow it, so a database away for a
                # moment is waited for rather than leaving the claim to go stale.
                self._patiently(connection, lambda: ledger.delivery_mark_sent(
                    connection, subscription_id=sid, digest_date=digest_date, claimed_at=claimed_at,
                    message_id=item.message_id, mentioned=sorted(item.mentioned),
                ))
                return outcome
            else:
                ledger.delivery_mark(
                    connection,
                    subscription_ids=[sid],
                    digest_date=digest_date,
                    claimed_at=claimed_at,
                    status=outcome,
                    reason=reason,
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

    def _patiently(self, connection: Connection, write: Callable[[], object]) -> None:
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
                    self._notes.append(
                        "the database went away mid-send: the worker waited for it to record what was sent"
                    )
                return
            except DATABASE_ERRORS:
                _rollback(connection)
                if time.monotonic() + pause > deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 2.0)

    def _friend_events(self, person_ids: list[int], window: Window, notes: list[str] | None) -> dict:
        """The strategy's answer; a missing graph or search index is rebuilt first (noted)."""
        for _ in range(3):  # the graph and the index can both be missing; each heals once
            try:
                return self.strategy.friend_events(person_ids, window)
            except GraphMissing:
                healed: GraphHealing | SearchHealing = graph_heal(
                    self.graph, self.engine, lock_key=self.keys.graph_heal_lock
                )
            except SearchMissing:
                search = _search_strategy(self.strategy)
                healed = search_heal(search.index, self.engine, self.redis, self.keys)
                search.trust()
            if notes is not None:
                notes.append(healed.note)
        return self.strategy.friend_events(person_ids, window)

    # -- Redis: what earlier digests mentioned ------------------------------------------

    def _mentioned(self, subscription_ids: Sequence[int], window: Window) -> dict[int, set[int]]:
        """What earlier digests told each subscription about, of the events still ahead.

        Redis holds a copy (a sorted set per subscription with a "loaded" member); a
        subscription without one (Redis restarted empty, the key evicted or expired) is
        read from the ledger, where each sent delivery keeps what it mentioned, and the
        copy is made again.
        """
        pipe = self.redis.pipeline(transaction=False)
        low = day_number(window.start)
        for sid in subscription_ids:
            pipe.zrangebyscore(self.keys.mentioned(sid), low, "+inf")
        found: dict[int, set[int]] = {}
        cold: list[int] = []
        for sid, events in zip(subscription_ids, pipe.execute(), strict=True):
            if MENTION_LOADED in events:
                found[sid] = {int(e) for e in events if e != MENTION_LOADED}
            else:
                cold.append(sid)
        if cold:
            found.update(self._mentioned_from_ledger(cold, window))
        return found

    def _mentioned_from_ledger(self, subscription_ids: Sequence[int], window: Window) -> dict[int, set[int]]:
        since = window.start - dt.timedelta(seconds=MENTIONED_TTL)
        with self.engine.connect() as connection:
            memory = ledger.delivery_mentions(connection, subscription_ids=subscription_ids, since=since)
            every = set().union(*memory.values()) if memory else set()
            e = db.event_
            starts: dict[int, int] = {}
            for batch in batches(sorted(every)):
                starts.update(
                    (event_id, day_number(start))
                    for event_id, start in connection.execute(
                        select(e.c.id, e.c.start_date).where(e.c.id.in_(batch), e.c.start_date >= window.start)
                    )
                )
        pipe = self.redis.pipeline(transaction=True)
        found = {}
        for sid in subscription_ids:
            ahead = {event_id: starts[event_id] for event_id in memory.get(sid, ()) if event_id in starts}
            found[sid] = set(ahead)
            key = self.keys.mentioned(sid)
            pipe.delete(key)
            pipe.zadd(key, {MENTION_LOADED: "+inf", **ahead})
            pipe.expire(key, MENTIONED_TTL)
        pipe.execute()
        return found

    def _remember(self, sent: Sequence[Prepared], digest_date: dt.date) -> None:
        """Add what these digests mentioned to each subscription's memory (one script call)."""
        if not sent:
            return
        keys, args = [], [day_number(digest_date) - 1, MENTIONED_TTL]
        for item in sent:
            keys.append(self.keys.mentioned(item.subscription.id))
            args.append(len(item.mentioned))
            for event_id, score in item.mentioned.items():
                args += (score, event_id)
        self._remember_script(keys=keys, args=args)


def _unsettled(
    connection: Connection, subscription_ids: Sequence[int], digest_date: dt.date, list_name: str
) -> list[SubscriptionRow]:
    """The chunk's subscriptions on the run's list without a final ledger entry for the date."""
    d = db.delivery
    settled: set[int] = set()
    for batch in batches(subscription_ids):
        settled.update(
            connection.execute(
                select(d.c.subscription_id).where(
                    d.c.subscription_id.in_(batch),
                    d.c.digest_date == digest_date,
                    d.c.status.in_(FINAL_DELIVERY_STATUSES),
                )
            ).scalars()
        )
    return [
        s for s in subscriptions_by_id(connection, subscription_ids) if s.id not in settled and s.list_name == list_name
    ]


def unsubscribe_mailto(domain: str, unsubscribe_url: str) -> str:
    """The ``mailto:`` List-Unsubscribe alternative; its subject carries the signed token,
    so whoever reads that mailbox can verify a request like the endpoint does."""
    token = unsubscribe_url.rpartition("/")[2]
    return f"mailto:unsubscribe@{domain}?subject=unsubscribe%20{token}"


class _CardCache:
    """Cards by id, fetched for the ids not held and all dropped every ``seconds``."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.clear()

    def clear(self) -> None:
        self.cards: dict = {}
        self.since = time.monotonic()

    def get(self, ids: set[int], fetch: Callable[[list[int]], dict]) -> dict:
        if time.monotonic() - self.since > self.seconds:
            self.clear()
        cards = self.cards
        missing = [i for i in ids if i not in cards]
        if missing:
            cards.update(fetch(missing))
        return {i: cards[i] for i in ids if i in cards}


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
            self.known = dict(zip(ids, (bool(m) for m in self.redis.smismember(self.key, ids)), strict=False))
        return self.known[subscription_id]


@contextmanager
def _timed(timings: Timings, stage: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] += time.perf_counter() - started


def _search_strategy(strategy: FriendEventsStrategy) -> Any:
    """The search strategy itself, or the one the planner ("auto") sends subscribers to."""
    planner: Any = strategy  # the planner ("auto") holds both strategies
    return strategy if hasattr(strategy, "trust") else planner.strategies["search"]


def _rollback(connection: Connection) -> None:
    """Roll back after a failed statement; on a connection the server dropped, give the
    connection up so the next statement opens a new one."""
    try:
        connection.rollback()
    except DATABASE_ERRORS:
        connection.invalidate()
        connection.rollback()
