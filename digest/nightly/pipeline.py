"""The nightly digest's work on one chunk of a run.

:class:`Pipeline` (one per worker process) processes a chunk in three steps:

1. fetch, up front: the chunk's unsettled subscriptions, their friend events (a strategy
   from ``digest/nightly/friend_events.py``; a missing graph is rebuilt first), the mention
   memory (``digest/nightly/mentions.py``), and event and person cards in bulk;
2. compose each digest from those values (``digest/nightly/compose.py``: select, build,
   sign, render, MIME: no I/O);
3. deliver (``digest/delivery/deliver.py``: claim in the ledger, suppression, send, mark).

The run itself (its status, counters, finishing) belongs to ``digest/runs/``;
``digest/nightly/batch.py`` is how ``lanyard digest run`` and the Celery tasks drive
chunks through it.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from redis import Redis
from sqlalchemy import Connection, Engine, select

from digest.clock import Timings, timed
from digest.config import Settings
from digest.delivery.deliver import DEFAULT_LIMITS, Delivery, DeliveryLimits
from digest.delivery.transports import Transport, make_transport
from digest.errors import GraphMissing, RunPaused, SearchMissing
from digest.faults import DATABASE_ERRORS
from digest.graph.store import Graph
from digest.graph.sync import heal as graph_heal
from digest.heal import Healing
from digest.nightly.build import Selection, upcoming_window
from digest.nightly.compose import Composer, Inputs, Prepared, people_wanted, select_all
from digest.nightly.friend_events import RedisFriendEvents, make_friend_strategy
from digest.nightly.hydrate import SubscriptionRow, event_cards, person_cards, subscriptions_by_id
from digest.nightly.mentions import MentionMemory
from digest.nightly.render import Renderer
from digest.runs.state import ChunkRecord, run_get, run_record
from digest.search.index import SearchError
from digest.search.sync import heal as search_heal
from digest.stores import db
from digest.stores.db import batches
from digest.stores.keys import RedisKeys
from digest.stores.redis_store import connect
from digest.values import FriendEvents, FriendEventsStrategy, Outgoing, Window
from digest.vocabulary import FINAL_DELIVERY_STATUSES, RunStatus, SubscriptionStatus

log = logging.getLogger("lanyard.digest")

NOTE_CHARS = 300  # of a search failure, in a run's notes
CARD_CACHE_SECONDS = 30.0  # how long hydrated event and person cards are reused within a run


@dataclass
class ChunkResult(ChunkRecord):
    """What processing a chunk did (a :class:`~digest.runs.state.ChunkRecord` for its run)."""

    cancelled: bool = False


class Pipeline:
    """Everything a worker process needs to turn chunks of subscriptions into emails.

    Built once per process: the composer has loaded its templates and inlined their CSS,
    the transport keeps its connection open between chunks.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Engine | None = None,
        redis: Redis | None = None,
        transport: Transport | None = None,
        strategy: FriendEventsStrategy | None = None,
        limits: DeliveryLimits = DEFAULT_LIMITS,
    ) -> None:
        self.settings = settings
        self._own_engine = engine is None
        self.engine = engine if engine is not None else db.make_engine(settings.database.primary)
        # The bulk reads of the catalogue (events and people to hydrate) go to the read replica
        # when there is one; the ledger, claims and run rows stay on the primary.
        self._own_read_engine = settings.database.replica is not None
        self.read_engine = (
            db.make_engine(settings.database.replica) if settings.database.replica is not None else self.engine
        )
        self.redis = redis if redis is not None else connect(settings)
        self.keys = RedisKeys(settings.redis.prefix)
        self.graph = Graph(self.redis, settings.redis.prefix)
        self.strategy = strategy or make_friend_strategy(settings, graph=self.graph)
        self._redis_fallback: FriendEventsStrategy | None = None  # made when search is away
        self.composer = Composer(settings)
        self.mentions = MentionMemory(engine=self.engine, redis=self.redis, keys=self.keys)
        self._transport = transport
        self._own_transport = transport is None
        self.delivery = Delivery(
            engine=self.engine, redis=self.redis, keys=self.keys, transport=self._open_transport,
            on_sent=self._remember, limits=limits,
        )
        # Events and people recur in every chunk of a run; cards are reused for a while.
        self._event_cards = _CardCache(CARD_CACHE_SECONDS)
        self._person_cards = _CardCache(CARD_CACHE_SECONDS)
        self._run_id: int | None = None

    @property
    def renderer(self) -> Renderer:
        return self.composer.renderer

    @renderer.setter
    def renderer(self, renderer: Renderer) -> None:  # bench/digest.py times the render stage through one
        self.composer.renderer = renderer

    @property
    def claim_timeout(self) -> dt.timedelta:
        return self.delivery.claim_timeout

    @claim_timeout.setter
    def claim_timeout(self, value: dt.timedelta) -> None:
        self.delivery.claim_timeout = value

    def _open_transport(self) -> Transport:
        if self._transport is None:
            self._transport = make_transport(self.settings)
        return self._transport

    def _remember(self, sent: Sequence[Outgoing], digest_date: dt.date) -> None:
        self.mentions.remember(sent=sent, digest_date=digest_date)

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
        timings: Timings = defaultdict(float)
        run = run_get(self.engine, run_id=run_id)
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
            with timed(timings, "select"), self.engine.connect() as connection:
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
                outgoing = [item.outgoing for item in prepared]
                finished = self.delivery.deliver(
                    run_id=run_id, digest_date=digest_date, outgoing=outgoing, tally=result, timings=timings
                )
                result.cancelled = not finished
        finally:
            result.timings = dict(timings)
            result.notes.append(f"friends strategy: {self.strategy.name}")
            # Counters, timings and notes go in even when the chunk stops half-way
            # (paused, cancelled, a store failing), unless the database is what failed.
            try:
                run_record(self.engine, run_id=run_id, record=result)
            except DATABASE_ERRORS as failure:
                log.warning("run %s: could not record a chunk's counters (%s); the ledger has them", run_id, failure)
        return result

    def prepare(
        self, subscriptions: Sequence[SubscriptionRow], *, digest_date: dt.date, timings: Timings | None = None,
        notes: list[str] | None = None,
    ) -> list[Prepared]:
        """Fetch what the digests need, then compose each (nothing is sent or recorded).

        A missing Redis graph (or search index) is rebuilt from the database first;
        ``notes`` gets a line saying so.
        """
        timings = timings if timings is not None else defaultdict(float)
        if not subscriptions:
            return []
        inputs, selections = self._fetch(subscriptions, digest_date=digest_date, timings=timings, notes=notes)
        return [
            self.composer.compose(s, selection=selections[s.id], inputs=inputs, timings=timings)
            for s in subscriptions
        ]

    def _fetch(
        self, subscriptions: Sequence[SubscriptionRow], *, digest_date: dt.date, timings: Timings,
        notes: list[str] | None,
    ) -> tuple[Inputs, dict[int, Selection]]:
        """Everything the stores say about these subscriptions' digests, in a few bulk reads.

        Which people to load depends on which events are listed, so the selection (a
        pure function) runs between loading the events and loading the people.
        """
        window = upcoming_window(digest_date)
        with timed(timings, "friends"):
            friends = self._friend_events([s.person_id for s in subscriptions], window, notes)
            mentioned = self.mentions.read(subscription_ids=[s.id for s in subscriptions], window=window)
        with timed(timings, "hydrate"), self.read_engine.connect() as connection:
            event_ids = set().union(*(friends[s.person_id].keys() for s in subscriptions if s.person_id in friends))
            links = self.composer.links
            events = self._event_cards.get(event_ids, lambda ids: event_cards(connection, ids, links))
            inputs = Inputs(digest_date=digest_date, friends=friends, mentioned=mentioned, events=events)
            selections = select_all(subscriptions, inputs)
            wanted = people_wanted(subscriptions, inputs, selections)
            people = self._person_cards.get(wanted, lambda ids: person_cards(connection, ids, links))
        return Inputs(
            digest_date=digest_date, friends=friends, mentioned=mentioned, events=events, people=people
        ), selections

    def _friend_events(
        self, person_ids: list[int], window: Window, notes: list[str] | None
    ) -> dict[int, FriendEvents]:
        """The strategy's answer; when the search engine is away (every Solr node failed),
        the Redis graph's answer to the same question, noted in the run."""
        try:
            return self._healed_friend_events(person_ids, window, notes)
        except SearchError as error:
            if notes is not None:
                notes.append(f"search away, friends from the Redis graph: {str(error)[:NOTE_CHARS]}")
            return self._redis_friends().friend_events(person_ids, window)

    def _redis_friends(self) -> FriendEventsStrategy:
        planner_has = getattr(self.strategy, "strategies", {}).get("redis")  # the planner holds one already
        if planner_has is not None:
            return planner_has
        if self._redis_fallback is None:
            self._redis_fallback = RedisFriendEvents(self.graph)
        return self._redis_fallback

    def _healed_friend_events(
        self, person_ids: list[int], window: Window, notes: list[str] | None
    ) -> dict[int, FriendEvents]:
        """The strategy's answer; a missing graph or search index is rebuilt first (noted)."""
        for _ in range(3):  # the graph and the index can both be missing; each heals once
            try:
                return self.strategy.friend_events(person_ids, window)
            except GraphMissing:
                healed: Healing = graph_heal(
                    self.graph, self.engine, lock_key=self.keys.graph_heal_lock
                )
            except SearchMissing:
                search = _search_strategy(self.strategy)
                healed = search_heal(search.index, self.engine, self.redis, self.keys)
                search.trust()
            if notes is not None:
                notes.append(healed.note)
        return self.strategy.friend_events(person_ids, window)


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


def _search_strategy(strategy: FriendEventsStrategy) -> Any:
    """The search strategy itself, or the one the planner ("auto") sends subscribers to."""
    planner: Any = strategy  # the planner ("auto") holds both strategies
    return strategy if hasattr(strategy, "trust") else planner.strategies["search"]
