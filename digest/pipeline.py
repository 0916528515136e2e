"""The nightly digest run: plan it, process its chunks, finish it.

* :func:`plan_run` makes a DigestRun row and splits the due subscriptions into chunks.
* :class:`Pipeline` (one per worker process) processes a chunk: friend events (a
  strategy from ``digest/friends.py``) → hydrate events and people in bulk → build
  ``Digest`` values → sign unsubscribe tokens → render → MIME → deliver, claiming each
  delivery in the ledger (``digest/ledger.py``) before sending it.
* :func:`finish_run` totals the ledger into the run row.

The Celery tasks of ``scheduler/`` and ``lanyard digest run`` are thin callers of these.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from sqlalchemy import Engine, select, update

from . import db, ledger
from .build import Links, build_digest, date_order, people_to_hydrate, select_events, upcoming_window
from .config import Settings
from .friends import FriendEventsStrategy, make_friend_strategy
from .graph import Graph, day_number
from .hydrate import SubscriptionRow, batches, event_cards, person_cards, subscriptions_by_id
from .keys import RedisKeys
from .links import manage_link, unsubscribe_link
from .bounces.verp import ReturnPath
from .clock import utcnow
from .tokens import DeliveryRef, FeedRef, ReturnPathSigner, SubscriptionRef, TokenSigner
from .values import Digest
from .vocabulary import FINAL_DELIVERY_STATUSES, DeliveryStatus, DigestList, RunStatus, SubscriptionStatus
from .stores.scripts import lua

CLAIM_GROUP = 100  # deliveries claimed per statement; the run's status is re-read between groups
# How old the view of the unsubscribe suppression set may be when a message goes out:
# it is read for a whole claim group at once and read again once older than this.
SUPPRESSION_MAX_AGE = 0.2  # seconds
CLAIM_TIMEOUT = dt.timedelta(minutes=15)  # a claim older than this belongs to a dead worker
MENTIONED_TTL = 400 * 86400  # seconds: a lapsed subscription's memory goes eventually

_REMEMBER_LUA = lua("mentions_remember")

CARD_CACHE_SECONDS = 30.0  # how long hydrated event and person cards are reused within a run


class RunNotFound(LookupError):
    pass


class RunPaused(RuntimeError):
    """The run is paused; process the chunk again after it resumes."""


@dataclass(frozen=True)
class Plan:
    run_id: int
    chunks: list[list[int]]

    @property
    def planned(self) -> int:
        return sum(len(chunk) for chunk in self.chunks)


@dataclass
class ChunkResult:
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    bounced: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    cancelled: bool = False


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    status: str
    dry_run: bool
    planned: int
    sent: int
    skipped: int
    failed: int
    bounced: int
    timings: dict[str, float]
    notes: str


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


# -- planning and finishing -----------------------------------------------------------


def plan_run(
    engine: Engine,
    *,
    list_name: str = DigestList.DAILY,
    digest_date: dt.date,
    subscription_ids: Iterable[int] | None = None,
    limit: int | None = None,
    dry_run: bool = False,
    chunk_size: int = 500,
) -> Plan:
    """Record a run and choose its subscriptions: active on the list, not yet settled for the date."""
    if list_name not in tuple(DigestList):
        raise ValueError(f"unknown list {list_name!r}; known: {', '.join(DigestList)}")
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    if limit is not None and limit < 0:
        raise ValueError("limit must not be negative")
    s, d = db.subscription, db.delivery
    settled = select(d.c.subscription_id).where(d.c.digest_date == digest_date, d.c.status.in_(FINAL_DELIVERY_STATUSES))
    query = select(s.c.id).where(s.c.list == list_name, s.c.status == SubscriptionStatus.ACTIVE, s.c.id.not_in(settled)).order_by(s.c.id)
    with engine.begin() as connection:
        if subscription_ids is None:
            ids = list(connection.execute(query.limit(limit) if limit is not None else query).scalars())
        else:
            ids = []
            for batch in batches(subscription_ids):
                ids.extend(connection.execute(query.where(s.c.id.in_(batch))).scalars())
            ids = ids[:limit] if limit is not None else ids
        chunks = [ids[i:i + chunk_size] for i in range(0, len(ids), chunk_size)]
        run_id = connection.execute(
            db.digest_run.insert().values(
                list=list_name, digest_date=digest_date, status=RunStatus.PLANNED, dry_run=dry_run,
                planned=len(ids), sent=0, skipped=0, failed=0, chunks_total=len(chunks), chunks_done=0,
                timings={}, notes="", created_at=utcnow(), started_at=None, finished_at=None,
            )
        ).inserted_primary_key[0]
    return Plan(run_id=run_id, chunks=chunks)


def finish_run(engine: Engine, *, run_id: int) -> RunSummary:
    """Total the ledger into the run and mark it finished (a cancelled run stays cancelled)."""
    r = db.digest_run
    with engine.begin() as connection:
        # Taking the row lock first keeps a late chunk's counters from interleaving.
        connection.execute(update(r).where(r.c.id == run_id).values(finished_at=utcnow()))
        run = connection.execute(select(r).where(r.c.id == run_id)).mappings().first()
        if run is None:
            raise RunNotFound(f"no digest run {run_id}")
        if run["dry_run"]:
            # A dry run writes no ledger: what it counted is all there is.
            sent, skipped, failed, bounced = run["sent"], run["skipped"], run["failed"], 0
        else:
            totals = ledger.delivery_totals(connection, run_id=run_id)
            sent, skipped = totals.get(DeliveryStatus.SENT, 0), totals.get(DeliveryStatus.SKIPPED, 0)
            bounced = totals.get(DeliveryStatus.BOUNCED, 0)
            failed = totals.get(DeliveryStatus.FAILED, 0) + totals.get(DeliveryStatus.CLAIMED, 0)
        status = run["status"] if run["status"] in (RunStatus.CANCELLED, RunStatus.FAILED) else RunStatus.FINISHED
        connection.execute(
            update(r).where(r.c.id == run_id).values(
                status=status, sent=sent, skipped=skipped, failed=failed + bounced,
                started_at=run["started_at"] or run["created_at"],
            )
        )
    return RunSummary(
        run_id=run_id, status=status, dry_run=run["dry_run"], planned=run["planned"], sent=sent, skipped=skipped,
        failed=failed, bounced=bounced, timings=dict(run["timings"] or {}), notes=run["notes"],
    )


def recover_stale_claims(engine: Engine, *, older_than: dt.timedelta) -> int:
    """Release claims of workers that died; a later run (or retry) sends those digests."""
    with engine.begin() as connection:
        return ledger.delivery_recover_stale(connection, older_than=older_than)


def forget_mentions(redis, prefix: str) -> int:
    """Forget what every digest mentioned (after the data is replaced: ids are reused)."""
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
        redis=None,
        transport=None,
        throttle: Callable[[], None] | None = None,
        strategy: FriendEventsStrategy | None = None,
        claim_timeout: dt.timedelta = CLAIM_TIMEOUT,
        suppression_max_age: float = SUPPRESSION_MAX_AGE,
    ):
        from .message import DkimSigner, sender_domain, sender_name
        from .redis_store import connect
        from .render import Renderer

        self.settings = settings
        self._own_engine = engine is None
        self.engine = engine if engine is not None else db.make_engine(settings.database)
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
        self._remember_script = self.redis.register_script(_REMEMBER_LUA)

    @property
    def transport(self):
        if self._transport is None:
            from .transports import make_transport

            self._transport = make_transport(self.settings)
        return self._transport

    def close(self) -> None:
        if self._transport is not None and self._own_transport:
            self._transport.close()
            self._transport = None
        if self._own_engine:
            self.engine.dispose()

    # -- a chunk --------------------------------------------------------------------

    def process_chunk(self, *, run_id: int, subscription_ids: Sequence[int]) -> ChunkResult:
        result = ChunkResult()
        timings: dict[str, float] = defaultdict(float)
        run = self._start(run_id)
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
        completed = False
        try:
            with _timed(timings, "select"), self.engine.connect() as connection:
                subscriptions = _unsettled(connection, subscription_ids, digest_date, run["list"])
            # Inactive ones are claimed and settled as skipped without computing anything.
            active = [s for s in subscriptions if s.status == SubscriptionStatus.ACTIVE]
            prepared = self.prepare(active, digest_date=digest_date, timings=timings)
            prepared += [Prepared(subscription=s) for s in subscriptions if s.status != SubscriptionStatus.ACTIVE]
            if dry_run:
                for item in prepared:
                    if item.message is None:
                        result.skipped += 1
                    else:
                        result.sent += 1
            else:
                self._deliver(run_id, digest_date, prepared, result, timings)
            completed = True
        finally:
            result.timings = dict(timings)
            # Counters and timings go in even when the chunk stops half-way (paused,
            # cancelled, a store failing); only a completed chunk counts as done.
            self._record(run_id, result, chunk_done=completed or result.cancelled)
        return result

    def prepare(self, subscriptions: Sequence[SubscriptionRow], *, digest_date: dt.date, timings: dict | None = None) -> list[Prepared]:
        """Compute, hydrate, build, sign, render and build the MIME of each digest."""
        from .message import build_message, make_list_id, make_message_id

        timings = timings if timings is not None else defaultdict(float)
        if not subscriptions:
            return []
        window = upcoming_window(digest_date)
        with _timed(timings, "friends"):
            found = self.strategy.friend_events([s.person_id for s in subscriptions], window)
            mentioned = self._mentioned([s.id for s in subscriptions], window)

        with _timed(timings, "hydrate"), self.engine.connect() as connection:
            empty: dict = {}
            event_ids = set().union(*(found.get(s.person_id, empty).keys() for s in subscriptions))
            events = self._event_cards.get(event_ids, lambda ids: event_cards(connection, ids, self.links))
            starts = {e: card.start_date for e, card in events.items()}
            order = date_order(starts)
            rank = {e: i for i, e in enumerate(order)}
            selections = {
                s.id: select_events(
                    found.get(s.person_id, empty), order, rank, mentioned.get(s.id, ()), starts=starts, digest_date=digest_date
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

    def _deliver(self, run_id: int, digest_date: dt.date, prepared: list[Prepared], result: ChunkResult, timings) -> None:
        with self.engine.connect() as connection:
            for start in range(0, len(prepared), CLAIM_GROUP):
                group = prepared[start:start + CLAIM_GROUP]
                with _timed(timings, "claim"):
                    status = self._status(connection, run_id)
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
                    self._deliver_group(connection, group, claims, digest_date, claimed_at, skipped, sent, result, timings)
                except BaseException as error:
                    # Release what this group still holds, so a retry need not wait for
                    # the claims to go stale (sent ones were marked one by one).
                    sent_ids = {p.subscription.id for p in sent}
                    held = [sid for sid in claims if sid not in sent_ids]
                    connection.rollback()
                    try:
                        ledger.delivery_mark(
                            connection, subscription_ids=held, digest_date=digest_date, claimed_at=claimed_at,
                            status=DeliveryStatus.FAILED, reason=f"not sent: {error}",
                        )
                        connection.commit()
                    except Exception:
                        pass  # the claims go stale and are taken over later
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
                            update(s).where(s.c.id.in_([p.subscription.id for p in sent])).values(last_sent_date=digest_date)
                        )
                    connection.commit()
                    self._remember(sent, digest_date)

    def _deliver_group(self, connection, group, claims, digest_date, claimed_at, skipped, sent, result, timings) -> None:
        suppression = _Suppression(self.redis, self.keys.unsubscribe_suppressed, self.suppression_max_age)
        sendable = [p.subscription.id for p in group if p.message is not None and claims.get(p.subscription.id) == SubscriptionStatus.ACTIVE]
        for index, item in enumerate(group):
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

    def _send(self, connection, item: Prepared, digest_date, claimed_at, timings) -> str:
        from .transports import PermanentDeliveryError, TemporaryDeliveryError

        sid = item.subscription.id
        with _timed(timings, "send"):
            if self.throttle is not None:
                self.throttle()
            try:
                self.transport.send(sender=item.envelope_sender, recipient=item.subscription.email, message=item.message)
            except TemporaryDeliveryError as error:
                outcome, reason = DeliveryStatus.FAILED, str(error) or "temporary delivery failure"
            except PermanentDeliveryError as error:
                outcome, reason = DeliveryStatus.BOUNCED, str(error) or "permanent delivery failure"
            else:
                outcome, reason = DeliveryStatus.SENT, ""
        with _timed(timings, "claim"):
            if outcome == DeliveryStatus.SENT:
                ledger.delivery_mark_sent(
                    connection, subscription_id=sid, digest_date=digest_date, claimed_at=claimed_at, message_id=item.message_id
                )
            else:
                ledger.delivery_mark(
                    connection, subscription_ids=[sid], digest_date=digest_date, claimed_at=claimed_at, status=outcome, reason=reason
                )
                if outcome == DeliveryStatus.BOUNCED:
                    s = db.subscription
                    connection.execute(
                        update(s).where(s.c.id == sid, s.c.status == SubscriptionStatus.ACTIVE).values(status=SubscriptionStatus.BOUNCING, updated_at=utcnow())
                    )
            connection.commit()
        return outcome

    # -- Redis: what earlier digests mentioned ------------------------------------------

    def _mentioned(self, subscription_ids: Sequence[int], window) -> dict[int, set[int]]:
        pipe = self.redis.pipeline(transaction=False)
        low = day_number(window.start)
        for sid in subscription_ids:
            pipe.zrangebyscore(self.keys.mentioned(sid), low, "+inf")
        return {sid: {int(e) for e in events} for sid, events in zip(subscription_ids, pipe.execute())}

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

    # -- the run row --------------------------------------------------------------------

    def _start(self, run_id: int):
        r = db.digest_run
        with self.engine.begin() as connection:
            connection.execute(
                update(r).where(r.c.id == run_id, r.c.status == RunStatus.PLANNED).values(status=RunStatus.RUNNING, started_at=utcnow())
            )
            run = connection.execute(select(r.c.status, r.c.digest_date, r.c.dry_run, r.c.list).where(r.c.id == run_id)).mappings().first()
        if run is None:
            raise RunNotFound(f"no digest run {run_id}")
        if run["status"] == RunStatus.PAUSED:
            raise RunPaused(f"run {run_id} is paused")
        return run

    @staticmethod
    def _status(connection, run_id: int) -> str:
        return connection.execute(select(db.digest_run.c.status).where(db.digest_run.c.id == run_id)).scalar()

    def _record(self, run_id: int, result: ChunkResult, *, chunk_done: bool) -> None:
        r = db.digest_run
        with self.engine.begin() as connection:
            # The increment takes the row's write lock first, so the read-modify-write of
            # the timings below cannot interleave with another chunk's.
            connection.execute(
                update(r).where(r.c.id == run_id).values(
                    sent=r.c.sent + result.sent,
                    skipped=r.c.skipped + result.skipped,
                    failed=r.c.failed + result.failed + result.bounced,
                    chunks_done=r.c.chunks_done + (1 if chunk_done else 0),
                )
            )
            timings, notes = connection.execute(select(r.c.timings, r.c.notes).where(r.c.id == run_id)).one()
            merged = dict(timings or {})
            for stage, seconds in result.timings.items():
                merged[stage] = round(merged.get(stage, 0.0) + seconds, 6)
            note = f"friends strategy: {self.strategy.name}"
            if note not in notes:
                notes = f"{notes}\n{note}".strip()
            connection.execute(update(r).where(r.c.id == run_id).values(timings=merged, notes=notes))


def _unsettled(connection, subscription_ids: Sequence[int], digest_date: dt.date, list_name: str) -> list[SubscriptionRow]:
    """The chunk's subscriptions on the run's list without a final ledger entry for the date."""
    d = db.delivery
    settled: set[int] = set()
    for batch in batches(subscription_ids):
        settled.update(connection.execute(
            select(d.c.subscription_id).where(d.c.subscription_id.in_(batch), d.c.digest_date == digest_date, d.c.status.in_(FINAL_DELIVERY_STATUSES))
        ).scalars())
    return [s for s in subscriptions_by_id(connection, subscription_ids) if s.id not in settled and s.list_name == list_name]


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

    def __init__(self, redis, key: str, max_age: float):
        self.redis, self.key, self.max_age = redis, key, max_age
        self.known: dict[int, bool] = {}
        self.read_at = float("-inf")

    def contains(self, subscription_id: int, *, upcoming: Sequence[int]) -> bool:
        if subscription_id not in self.known or time.monotonic() - self.read_at > self.max_age:
            ids = [subscription_id] if self.max_age <= 0 else list(dict.fromkeys([subscription_id, *upcoming]))
            self.read_at = time.monotonic()
            self.known = dict(zip(ids, (bool(m) for m in self.redis.smismember(self.key, ids))))
        return self.known[subscription_id]


@contextmanager
def _timed(timings: dict, stage: str):
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] += time.perf_counter() - started
