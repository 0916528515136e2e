"""Rebuild the Redis graph from the database, and compare the two.

The database is the source of truth. :func:`rebuild` streams it into a new generation
(pipelined, a batch of members per command) and swaps it in with one command;
:func:`check` streams it again and reports every key whose members differ.

A site write that commits during a rebuild is applied to both generations (see
:meth:`digest.graph.store.Graph.apply`); one that the rebuild's snapshot already predates can
still be overwritten by the snapshot, which ``lanyard graph check`` then reports and a
second rebuild mends.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter

import redis
from sqlalchemy import Connection, Engine, select

from digest.errors import GraphMissing
from digest.graph.store import OLD_GENERATION_TTL, Graph, day_number
from digest.heal import Healing, StillMissing, rebuild_once
from digest.stores import db
from digest.stores.keys import GraphKeys
from digest.vocabulary import GRAPH_ROLES, Role

Progress = Callable[[str, int], None]  # (step name, rows done in that step so far)

STREAM_BATCH = 20_000


@dataclass
class RebuildStats:
    generation: int
    follows: int = 0
    attendances: int = 0
    keys: int = 0
    seconds: float = 0.0


def rebuild(graph: Graph, engine: Engine, *, progress: Progress | None = None) -> RebuildStats:
    """Write a fresh generation from the database and make it the live one."""
    started = time.perf_counter()
    client = graph.redis
    generation = int(client.incr(graph.counter_key))
    client.set(graph.building_key, generation)
    keys = GraphKeys(graph.prefix, generation)
    stats = RebuildStats(generation=generation)
    writing = _Writing(client.pipeline(transaction=False), keys, stats, progress)
    try:
        with engine.connect() as connection:
            _write_follows(connection, writing)
            _write_attendances(connection, writing)
    except BaseException:
        # Leave the live generation alone; the half-written one expires.
        client.delete(graph.building_key)
        _expire_generation(client, keys)
        raise

    client.set(keys.built, 1)
    old = graph.live_generation()
    swap = client.pipeline(transaction=True)
    swap.set(graph.live_key, generation)
    swap.delete(graph.building_key)
    swap.execute()
    if old is not None and old != generation:
        _expire_generation(client, GraphKeys(graph.prefix, old))
    stats.keys = len(writing.written)
    stats.seconds = time.perf_counter() - started
    return stats


@dataclass
class _Writing:
    """A generation being written: its pipeline, keys, counts, and the keys written so far."""

    pipe: redis.client.Pipeline
    keys: GraphKeys
    stats: RebuildStats
    progress: Progress | None
    written: set[str] = field(default_factory=set)
    pending: int = 0  # commands queued in the pipeline since it last ran

    def queued(self, commands: int, step: str, done: int) -> None:
        self.pending += commands
        if self.pending >= STREAM_BATCH:
            self.flush(step, done)

    def flush(self, step: str, done: int) -> None:
        self.pipe.execute()
        self.pending = 0
        if self.progress:
            self.progress(step, done)


def _write_follows(connection: Connection, writing: _Writing) -> None:
    stats, pipe = writing.stats, writing.pipe
    for follower_id, rows in groupby(_follows(connection), key=itemgetter(0)):
        members = [followee for _, followee in rows]
        key = writing.keys.follows(follower_id)
        pipe.sadd(key, *members)
        writing.written.add(key)
        stats.follows += len(members)
        writing.queued(len(members), "follows", stats.follows)
    writing.flush("follows", stats.follows)


def _write_attendances(connection: Connection, writing: _Writing) -> None:
    stats, pipe, keys, written = writing.stats, writing.pipe, writing.keys, writing.written
    for person_id, event_id, role, start_date in _attendances(connection):
        key = keys.attendees(event_id)
        pipe.sadd(key, person_id)
        written.add(key)
        if role == Role.SPEAKING:
            key = keys.speakers(event_id)
            pipe.sadd(key, person_id)
            written.add(key)
        key = keys.events(person_id)
        pipe.zadd(key, {event_id: day_number(start_date)})
        written.add(key)
        stats.attendances += 1
        writing.queued(1, "attendances", stats.attendances)
    writing.flush("attendances", stats.attendances)


def heal(graph: Graph, engine: Engine, *, lock_key: str) -> Healing:
    """Make a missing graph whole again from the database, once however many workers
    notice (``digest/heal.py``); :class:`GraphMissing` when nobody managed to in time."""
    try:
        done = rebuild_once(
            graph.redis, lock_key, ready=graph.ready,
            rebuild=lambda renew: rebuild(graph, engine, progress=lambda _step, _rows: renew()),
        )
    except StillMissing as error:
        raise GraphMissing(f"the Redis graph is {error}") from None
    stats = done.stats
    rebuilt = None if stats is None else (
        f"generation {stats.generation}, {stats.follows} follows, {stats.attendances} attendances "
        f"in {stats.seconds:.1f}s"
    )
    return Healing("the Redis graph", rebuilt, done.waited)


@dataclass
class Difference:
    key: str
    missing: int  # in the database, not in Redis
    extra: int  # in Redis, not in the database


@dataclass
class Drift:
    generation: int | None
    keys_checked: int = 0
    differences: list[Difference] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return self.generation is not None and not self.differences


def check(graph: Graph, engine: Engine, *, progress: Progress | None = None) -> Drift:
    """Compare every graph key of the live generation with the database."""
    generation = graph.live_generation()
    drift = Drift(generation=generation)
    if generation is None:
        return drift
    keys = GraphKeys(graph.prefix, generation)
    compare = _Comparison(graph.redis, drift)
    with engine.connect() as connection:
        for follower_id, rows in groupby(_follows(connection), key=itemgetter(0)):
            compare.add(keys.follows(follower_id), {followee for _, followee in rows})
            if compare.pending() >= 1000:
                compare.flush()
                if progress:
                    progress("follows", drift.keys_checked)
        compare.flush()
        attendees, speakers, events = _expected_attendance(connection)
        for make_key, expected, sorted_set in (
            (keys.attendees, attendees, False),
            (keys.speakers, speakers, False),
            (keys.events, events, True),
        ):
            for owner, want in expected.items():
                compare.add(make_key(owner), want)
                if compare.pending() >= 1000:
                    compare.flush(sorted_set=sorted_set)
            compare.flush(sorted_set=sorted_set)
        if progress:
            progress("attendances", drift.keys_checked)

    # Keys in Redis that the database says should not exist at all.
    for raw_key in graph.redis.scan_iter(match=keys.pattern(), count=5000):
        key = raw_key.decode()
        if key not in compare.expected_keys and key != keys.built:
            size = graph.redis.zcard(key) if ":events:" in key else graph.redis.scard(key)
            drift.differences.append(Difference(key, 0, size))
    return drift


class _Comparison:
    """Batches of (key, expected members) compared with Redis one pipeline at a time."""

    def __init__(self, client: redis.Redis, drift: Drift):
        self.redis, self.drift = client, drift
        self.batch: list[tuple[str, set]] = []
        self.expected_keys: set[str] = set()

    def add(self, key: str, want: set) -> None:
        self.batch.append((key, want))

    def pending(self) -> int:
        return len(self.batch)

    def flush(self, *, sorted_set: bool = False) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for key, _ in self.batch:
            if sorted_set:
                pipe.zrange(key, 0, -1, withscores=True)
            else:
                pipe.smembers(key)
        for (key, want), found in zip(self.batch, pipe.execute(), strict=True):
            got: set = (
                {(int(member), int(score)) for member, score in found} if sorted_set else {int(m) for m in found}
            )
            self.expected_keys.add(key)
            self.drift.keys_checked += 1
            if got != want:
                self.drift.differences.append(Difference(key, len(want - got), len(got - want)))
        self.batch.clear()


def _expected_attendance(connection: Connection) -> tuple[dict[int, set], dict[int, set], dict[int, set]]:
    """What the attendance rows say the graph holds: attendees and speakers per event,
    (event, start day) per person."""
    attendees: dict[int, set] = {}
    speakers: dict[int, set] = {}
    events: dict[int, set] = {}
    for person_id, event_id, role, start_date in _attendances(connection):
        attendees.setdefault(event_id, set()).add(person_id)
        if role == Role.SPEAKING:
            speakers.setdefault(event_id, set()).add(person_id)
        events.setdefault(person_id, set()).add((event_id, day_number(start_date)))
    return attendees, speakers, events


def _follows(connection: Connection) -> Iterator[tuple[int, int]]:
    # Distinct pairs: a pair followed from several sources has one follow row per source.
    f = db.follow
    query = select(f.c.follower_id, f.c.followee_id).distinct().order_by(f.c.follower_id, f.c.followee_id)
    for row in connection.execution_options(yield_per=STREAM_BATCH).execute(query):
        yield row[0], row[1]


def _attendances(connection: Connection) -> Iterator[tuple]:
    a, e = db.attendance, db.event_
    query = (
        select(a.c.person_id, a.c.event_id, a.c.role, e.c.start_date)
        .join(e, e.c.id == a.c.event_id)
        .where(a.c.role.in_(GRAPH_ROLES))
        .order_by(a.c.event_id)
    )
    yield from connection.execution_options(yield_per=STREAM_BATCH).execute(query)


def _expire_generation(client: redis.Redis, keys: GraphKeys) -> None:
    pipe = client.pipeline(transaction=False)
    for count, key in enumerate(client.scan_iter(match=keys.pattern(), count=5000), 1):
        pipe.expire(key, OLD_GENERATION_TTL)
        if count % 5000 == 0:
            pipe.execute()
    pipe.execute()
