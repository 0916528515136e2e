"""The social graph in Redis: who follows whom, who is at which event.

Its key names are made in ``digest/stores/keys.py``. The graph is a denormalised copy of
the database, kept in *generations*: ``<prefix>graph:gen`` names the generation readers
use, and its keys are

* ``<prefix>g<gen>:follows:<person>``  set of the people ``person`` follows;
* ``<prefix>g<gen>:attendees:<event>`` set of the people attending or speaking;
* ``<prefix>g<gen>:speakers:<event>``  set of the people speaking;
* ``<prefix>g<gen>:events:<person>``   sorted set of the events ``person`` attends or
  speaks at, scored by start date (days since 1970-01-01), so "upcoming" is a range.

A rebuild writes a whole new generation beside the live one and switches the pointer
in one command, so readers never see half a graph; the old generation expires a few
minutes later rather than vanishing under a reader that resolved it just before.
Site writes reach the graph after their transaction commits, through :meth:`Graph.apply`,
a Lua script that applies the same edits to the live generation and, while a rebuild
runs, to the one being built.

Multi-key scripts here assume one Redis server (or a cluster client that pins the
graph to one slot); a cluster deployment keys the prefix with a hash tag, e.g.
``LANYARD_REDIS_PREFIX={lanyard}:``.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import redis

from digest.errors import GraphMissing
from digest.graph.changes import ANYTHING, CHANGES_KEPT, CHANGES_READ, TOUCHED_MAX, Changes, changes_from
from digest.stores.keys import GraphKeys, GraphSuffix, RedisKeys, graph_base_parts
from digest.stores.scripts import lua
from digest.vocabulary import GRAPH_ROLES, Role

EPOCH = dt.date(1970, 1, 1)
OLD_GENERATION_TTL = 600  # seconds a replaced generation stays readable



def day_number(day: dt.date) -> int:
    """The score of an event in ``events:<person>``: days since 1970-01-01."""
    return (day - EPOCH).days


_APPLY_LUA = lua("graph_apply")


_LIVE_LUA = lua("graph_live")
_CHANGES_LUA = lua("graph_changes")
_FOLLOWED_COUNTS_LUA = lua("graph_followed_counts")


@dataclass(frozen=True)
class Edit:
    """One change to the graph: a Redis command on a key suffix of every live generation."""

    command: str
    key: str
    args: tuple = ()

    def encode(self) -> list:
        return [self.command, self.key, *[str(a) for a in self.args]]


def follow_added(follower_id: int, followee_id: int) -> list[Edit]:
    return [Edit("SADD", GraphSuffix.follows(follower_id), (followee_id,))]


def follow_removed(follower_id: int, followee_id: int) -> list[Edit]:
    return [Edit("SREM", GraphSuffix.follows(follower_id), (followee_id,))]


def attendance_set(person_id: int, event_id: int, role: str, start_date: dt.date) -> list[Edit]:
    """Edits for a person's attendance at an event being created or changed to ``role``."""
    if role not in GRAPH_ROLES:
        return attendance_removed(person_id, event_id)
    edits = [
        Edit("SADD", GraphSuffix.attendees(event_id), (person_id,)),
        Edit("ZADD", GraphSuffix.events(person_id), (day_number(start_date), event_id)),
    ]
    speaker_command = "SADD" if role == Role.SPEAKING else "SREM"
    edits.append(Edit(speaker_command, GraphSuffix.speakers(event_id), (person_id,)))
    return edits


def attendance_removed(person_id: int, event_id: int) -> list[Edit]:
    return [
        Edit("SREM", GraphSuffix.attendees(event_id), (person_id,)),
        Edit("SREM", GraphSuffix.speakers(event_id), (person_id,)),
        Edit("ZREM", GraphSuffix.events(person_id), (event_id,)),
    ]


def event_moved(event_id: int, start_date: dt.date, attendee_ids: Iterable[int]) -> list[Edit]:
    """Rescore an event in its attendees' ``events:`` sets after its date changed."""
    score = day_number(start_date)
    return [Edit("ZADD", GraphSuffix.events(person_id), ("XX", score, event_id)) for person_id in attendee_ids]


def event_removed(event_id: int, attendee_ids: Iterable[int]) -> list[Edit]:
    edits = [Edit("DEL", GraphSuffix.attendees(event_id)), Edit("DEL", GraphSuffix.speakers(event_id))]
    edits += [Edit("ZREM", GraphSuffix.events(person_id), (event_id,)) for person_id in attendee_ids]
    return edits


def person_removed(person_id: int) -> list[Edit]:
    # Their memberships in others' sets go with the cascaded Follow/Attendance rows.
    return [Edit("DEL", GraphSuffix.follows(person_id)), Edit("DEL", GraphSuffix.events(person_id))]


class Graph:
    """The graph on one Redis server under one key prefix."""

    def __init__(self, client: redis.Redis, prefix: str = "lanyard:"):
        self.redis = client
        self.prefix = prefix
        keys = RedisKeys(prefix)
        self.live_key, self.building_key, self.counter_key = keys.graph_live, keys.graph_building, keys.graph_counter
        self.changes_key, self.changes_seq_key = keys.graph_changes, keys.graph_changes_seq
        self._apply = client.register_script(_APPLY_LUA)
        self._live = client.register_script(_LIVE_LUA)
        self._changes = client.register_script(_CHANGES_LUA)
        self._followed_counts = client.register_script(_FOLLOWED_COUNTS_LUA)

    # -- writes ---------------------------------------------------------------------

    def apply(self, edits: Sequence[Edit]) -> None:
        """Apply edits atomically to every generation that exists (live and building),
        noting the keys they touch in the change log (changes.py)."""
        if not edits:
            return
        payload = json.dumps([edit.encode() for edit in edits])
        self._apply(
            keys=[self.live_key, self.building_key, self.changes_key, self.changes_seq_key],
            args=[*graph_base_parts(self.prefix), payload, CHANGES_KEPT, secrets.randbits(40), TOUCHED_MAX, ANYTHING],
        )

    # -- reads ----------------------------------------------------------------------

    def live_generation(self) -> int | None:
        value = self.redis.get(self.live_key)
        return int(value) if value is not None else None

    def keys(self) -> GraphKeys:
        """Key names of the live generation; resolve once per batch of reads."""
        generation = self._live(keys=[self.live_key], args=[*graph_base_parts(self.prefix), GraphSuffix.BUILT])
        return self._generation_keys(-1 if generation is None else generation)

    def changes_since(self, since: int) -> Changes:
        """The live generation's keys and the key suffixes edits touched after change
        ``since`` (-1: none seen yet), in one call (changes.py)."""
        generation, seq, entries = self._changes(
            keys=[self.live_key, self.changes_key, self.changes_seq_key],
            args=[*graph_base_parts(self.prefix), GraphSuffix.BUILT, since, CHANGES_READ],
        )
        return changes_from(self._generation_keys(generation), since, seq, entries)

    def _generation_keys(self, generation: int) -> GraphKeys:
        if generation == -1:
            raise GraphMissing("the Redis graph has not been built; run `lanyard graph rebuild`")
        if generation == 0:
            raise GraphMissing("the Redis graph's live generation is incomplete or gone; run `lanyard graph rebuild`")
        return GraphKeys(self.prefix, generation)

    def ready(self) -> bool:
        try:
            self.keys()
        except GraphMissing:
            return False
        return True

    def follows(self, person_id: int) -> set[int]:
        return {int(m) for m in self.redis.smembers(self.keys().follows(person_id))}

    def attendees(self, event_id: int) -> set[int]:
        return {int(m) for m in self.redis.smembers(self.keys().attendees(event_id))}

    def speakers(self, event_id: int) -> set[int]:
        return {int(m) for m in self.redis.smembers(self.keys().speakers(event_id))}

    def events_of(self, person_id: int, start: dt.date | None = None, end: dt.date | None = None) -> list[int]:
        """Events a person attends or speaks at, by start date, within [start, end]."""
        low = day_number(start) if start else "-inf"
        high = day_number(end) if end else "+inf"
        members: list[bytes] = self.redis.zrangebyscore(self.keys().events(person_id), low, high)  # type: ignore[assignment]
        return [int(m) for m in members]


    # -- "people you follow" on the site: set intersections, never an SQL join --------

    def followed_at(self, person_id: int, event_id: int) -> FollowedAt:
        """The people ``person_id`` follows who go to an event, and those of them speaking:
        ``SINTER follows:<me> attendees:<event>`` and ``… speakers:<event>``, one round trip."""
        keys = self.keys()
        pipe = self.redis.pipeline(transaction=False)
        pipe.sinter([keys.follows(person_id), keys.attendees(event_id)])
        pipe.sinter([keys.follows(person_id), keys.speakers(event_id)])
        going, speaking = pipe.execute()
        return FollowedAt(going=frozenset(map(int, going)), speaking=frozenset(map(int, speaking)))

    def followed_going_counts(self, person_id: int, event_ids: Sequence[int]) -> dict[int, int]:
        """Per event, how many of the people ``person_id`` follows go (attend or speak)."""
        event_ids = list(dict.fromkeys(event_ids))
        if not event_ids:
            return {}
        keys = self.keys()
        counts = self._followed_counts(keys=[keys.follows(person_id), *(keys.attendees(e) for e in event_ids)])
        return dict(zip(event_ids, map(int, counts), strict=False))

    def followed_among(self, person_id: int, person_ids: Sequence[int]) -> frozenset[int]:
        """Which of ``person_ids`` the person follows (``SMISMEMBER``, one command)."""
        person_ids = list(dict.fromkeys(person_ids))
        if not person_ids:
            return frozenset()
        flags = self.redis.smismember(self.keys().follows(person_id), person_ids)
        return frozenset(p for p, flag in zip(person_ids, flags, strict=False) if flag)


@dataclass(frozen=True)
class FollowedAt:
    going: frozenset[int]  # attending or speaking
    speaking: frozenset[int]

