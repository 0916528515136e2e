"""Friend-attended events: for each subscriber, the upcoming events that people they
follow attend or speak at, and who of them is there.

A *strategy* answers that for a batch of subscribers at once. The one here reads the
Redis graph (``digest/graph/store.py``); a search-backed one (one OR query per subscriber)
can sit beside it. :func:`make_friend_strategy` picks one from the configuration
(``LANYARD_FRIENDS_STRATEGY``), and the digest run records which it used.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from types import ModuleType
from typing import Any

from redis.client import Pipeline
from redis.commands.core import Script

from digest.config import ConfigError, Settings
from digest.graph.store import Graph, day_number
from digest.stores.keys import GraphKeys, GraphSuffix
from digest.stores.scripts import lua
from digest.values import FriendEvents, FriendEventsStrategy, LazyFriendEvents, Window
from digest.vocabulary import Role

# How long fetched graph pieces (a person's upcoming events, an event's speakers) are
# reused for later batches of the same run: popular people are followed by subscribers
# in every chunk, and fetching their events once per chunk would dominate a run.
CACHE_SECONDS = 30.0
FETCH_BATCH = 5_000  # keys per round trip
INVERT_ABOVE = 1_000  # followees above which a view indexes who goes where (see FriendEventsView)
# What a follow_changes strategy keeps before it starts over (one per site thread): about
# 15 MB of event sets, and the follow sets of the last members (6,000 ids is ~200 kB).
FOLLOW_CHANGES_KEPT = 50_000
FOLLOW_SETS_KEPT = 200

# The many small reads of a batch as one script call per FETCH_BATCH keys (see the scripts).
_EVENTS_IN_WINDOW_LUA = lua("friends_events_in_window")
_MEMBERS_LUA = lua("friends_members")


class FriendEventsView(LazyFriendEvents):
    """One subscriber's friend events, computed on demand from the people they follow.

    Which events there are is a set union made up front (in C); who is at a given event
    is worked out only when asked, which a digest does for the 20-odd events it shows,
    not for the thousand-odd events that popular people go to.
    """

    __slots__ = ("_followees", "_events_of", "_speakers", "_people", "_going")

    def __init__(
        self,
        followees: tuple[int, ...],
        events_of: Mapping[int, frozenset],
        speakers: Mapping[int, frozenset],
        ids: frozenset,
    ):
        self._followees = followees
        self._events_of = events_of
        self._speakers = speakers
        super().__init__(ids)
        self._people: dict[int, dict[int, str]] = {}
        self._going: dict[int, list[int]] | None = None  # event → followees going, for many followees

    def __getitem__(self, event_id: int) -> dict[int, str]:
        people = self._people.get(event_id)
        if people is None:
            if event_id not in self._ids:
                raise KeyError(event_id)
            speakers = self._speakers.get(event_id, _EMPTY)
            speaking, attending = Role.SPEAKING, Role.ATTENDING
            people = self._people[event_id] = {
                person: speaking if person in speakers else attending for person in self._going_to(event_id)
            }
        return people

    def _going_to(self, event_id: int) -> Iterable[int]:
        if len(self._followees) <= INVERT_ABOVE:
            return (person for person in self._followees if event_id in self._events_of[person])
        # Thousands of followees (a calendar page asks about 50 events): turn the mapping
        # around once, for what it holds, rather than scan every followee per event.
        if self._going is None:
            self._going = {}
            for person in self._followees:
                for event in self._events_of[person]:
                    self._going.setdefault(event, []).append(person)
        return self._going.get(event_id, ())

    def speaking_events(self) -> frozenset:
        followees = set(self._followees)
        return frozenset(e for e in self._ids if not followees.isdisjoint(self._speakers.get(e, _EMPTY)))


_EMPTY: frozenset = frozenset()


def speaking_events(found: FriendEvents) -> frozenset:
    """The events of a strategy's answer for one subscriber where a followed person speaks."""
    if isinstance(found, LazyFriendEvents):
        return found.speaking_events()
    return frozenset(e for e, people in found.items() if "speaking" in people.values())


class RedisFriendEvents:
    """Friend events from the Redis graph: three pipelined round trips per batch.

    1. ``follows:<subscriber>`` of every subscriber;
    2. the upcoming part of ``events:<person>`` for every followed person not fetched
       in the last :data:`CACHE_SECONDS` (a range of the sorted set by start day);
    3. ``speakers:<event>`` for every event not fetched in that time.

    Then per subscriber a union of their followees' event sets, in Python's C set code.

    What was fetched is kept for ``cache_seconds`` (a digest run's later batches), or,
    with ``follow_changes`` (the site, one strategy per thread), until the graph's change
    log (digest/graph/changes.py) says its key changed: each call then costs one script
    call for the log and reads only the sets edited since, follow sets included.
    """

    name = "redis"

    def __init__(self, graph: Graph, *, cache_seconds: float = CACHE_SECONDS, follow_changes: bool = False):
        self.graph = graph
        self.cache_seconds = cache_seconds
        self.follow_changes = follow_changes
        self._events_in_window = graph.redis.register_script(_EVENTS_IN_WINDOW_LUA)
        self._members = graph.redis.register_script(_MEMBERS_LUA)
        self.forget()

    def forget(self) -> None:
        """Drop what was fetched; the next batch reads everything from Redis again."""
        self._scope: tuple[int, Window] | None = None
        self._fetched_at = float("-inf")
        self._seen = -1  # the last change-log entry applied (follow_changes)
        # Replaced, never cleared in place: views handed out keep a consistent picture
        # (follow_changes drops changed keys in place: its views live for one request
        # on the strategy's own thread, and are done with before the next call).
        self._events_of: dict[int, frozenset] = {}
        self._speakers: dict[int, frozenset] = {}
        self._follows: dict[int, frozenset] = {}

    def friend_events(self, subscriber_ids: Sequence[int], window: Window) -> dict[int, FriendEvents]:
        subscriber_ids = list(dict.fromkeys(subscriber_ids))
        if not subscriber_ids:
            return {}
        # Resolved once per batch: a rebuild swapping generations meanwhile leaves the
        # old one readable for minutes (graph.OLD_GENERATION_TTL).
        if not self.follow_changes:
            keys = self.graph.keys()
            follows = dict(
                zip(subscriber_ids, self._fetch([keys.follows(s) for s in subscriber_ids], _smembers), strict=False)
            )
            return self.friend_events_from(follows, window, keys)
        keys = self._catch_up(window)
        missing = [s for s in subscriber_ids if s not in self._follows]
        fetched = self._fetch([keys.follows(s) for s in missing], _smembers)
        self._follows.update(zip(missing, (frozenset(map(int, members)) for members in fetched), strict=True))
        return self._answer({s: self._follows[s] for s in subscriber_ids}, window, keys)

    def friend_events_from(
        self, follows: Mapping[int, Collection], window: Window, keys: GraphKeys
    ) -> dict[int, FriendEvents]:
        """The answer for subscribers whose follow sets were read already (the planner
        reads them once for both strategies)."""
        if self.follow_changes:
            if self._catch_up(window).generation != keys.generation:
                self.forget()  # a rebuild swapped generations between the caller's read and this one
                self._scope = (keys.generation, window)
        else:
            scope = (keys.generation, window)
            if scope != self._scope or time.monotonic() - self._fetched_at > self.cache_seconds:
                self.forget()
                self._scope, self._fetched_at = scope, time.monotonic()
        return self._answer(follows, window, keys)

    def _catch_up(self, window: Window) -> GraphKeys:
        """The live generation's keys, with what the change log says changed since the
        last call dropped (everything, on a new generation or window, or a gap in the log)."""
        changes = self.graph.changes_since(self._seen)
        scope = (changes.keys.generation, window)
        if scope != self._scope or changes.touched is None or len(self._events_of) > FOLLOW_CHANGES_KEPT:
            self.forget()
            self._scope = scope
        else:
            for suffix in changes.touched:
                kind, _, owner = suffix.rpartition(":")
                held = self._held.get(kind + ":")
                if held is not None:
                    getattr(self, held).pop(int(owner), None)
            if len(self._follows) > FOLLOW_SETS_KEPT:
                self._follows = {}  # the event sets stay: they are shared by whoever follows them
        self._seen = changes.seq
        return changes.keys

    # The change log's key kinds (GraphSuffix) → what this strategy holds of them.
    _held = {GraphSuffix.events(""): "_events_of", GraphSuffix.speakers(""): "_speakers",
             GraphSuffix.follows(""): "_follows"}

    def _answer(self, follows: Mapping[int, Collection], window: Window, keys: GraphKeys) -> dict[int, FriendEvents]:
        followed = {int(p) for members in follows.values() for p in members}
        missing = [p for p in followed if p not in self._events_of]
        if missing:
            low, high = day_number(window.start), day_number(window.end)
            fetched = self._script(self._events_in_window, [keys.events(""), low, high], missing)
            self._events_of.update(zip(missing, fetched, strict=True))

        events_of = self._events_of
        result: dict[int, FriendEvents] = {}
        every_event: set[int] = set()
        for subscriber, members in follows.items():
            followees = tuple(p for p in map(int, members) if events_of[p])
            ids = frozenset().union(*(events_of[p] for p in followees)) if followees else _EMPTY
            every_event |= ids
            result[subscriber] = FriendEventsView(followees, events_of, self._speakers, ids)

        unknown = [e for e in every_event if e not in self._speakers]
        if unknown:
            fetched = self._script(self._members, [keys.speakers("")], unknown)
            self._speakers.update(zip(unknown, fetched, strict=True))
        return result

    def _script(self, script: Script, head: list, ids: list[int]) -> list[frozenset[int]]:
        """``script`` on ``head`` and the ids (one call per FETCH_BATCH of them, packed in
        one argument), each id's members as a set of ints."""
        replies: list[frozenset[int]] = []
        for start in range(0, len(ids), FETCH_BATCH):
            packed = ",".join(map(str, ids[start:start + FETCH_BATCH]))
            replies.extend(
                frozenset(map(int, members.split(b","))) if members else _EMPTY
                for members in script(keys=[], args=[*head, packed])
            )
        return replies

    def _fetch(self, keys: list[str], command: Callable) -> list:
        """``command(pipe, key)`` for every key, one pipeline round trip per FETCH_BATCH keys."""
        replies: list = []
        for start in range(0, len(keys), FETCH_BATCH):
            pipe = self.graph.redis.pipeline(transaction=False)
            for key in keys[start:start + FETCH_BATCH]:
                command(pipe, key)
            replies.extend(pipe.execute())
        return replies


def _smembers(pipe: Pipeline, key: str) -> None:
    pipe.smembers(key)


StrategyFactory = Callable[..., FriendEventsStrategy]

# name → factory(settings, graph=…, **extra). The search strategy and the planner
# register here.
STRATEGIES: dict[str, StrategyFactory] = {
    "redis": lambda settings, *, graph, cache_seconds=CACHE_SECONDS, follow_changes=False, **extra: RedisFriendEvents(
        graph, cache_seconds=cache_seconds, follow_changes=follow_changes
    ),
    # digest/search/friends.py: one OR query per subscriber, and the per-subscriber planner.
    "search": lambda settings, *, graph, **extra: _search().search_strategy(settings, graph=graph, **extra),
    "auto": lambda settings, *, graph, cache_seconds=CACHE_SECONDS, follow_changes=False, **extra: (
        _search().planned_strategy(
            settings, graph=graph, **extra,
            redis_strategy=RedisFriendEvents(graph, cache_seconds=cache_seconds, follow_changes=follow_changes),
        )
    ),
}


def _search() -> ModuleType:
    from digest.search import friends  # noqa: PLC0415 -- on demand: the Redis strategy needs no search engine

    return friends


def make_friend_strategy(
    settings: Settings, *, graph: Graph, name: str | None = None, **extra: Any
) -> FriendEventsStrategy:
    """The strategy named by ``name`` or ``LANYARD_FRIENDS_STRATEGY`` (default "redis")."""
    name = name or settings.nightly.friends_strategy
    try:
        factory = STRATEGIES[name]
    except KeyError:
        raise ConfigError(
            "LANYARD_FRIENDS_STRATEGY", f"unknown strategy {name!r}; known: {', '.join(sorted(STRATEGIES))}"
        ) from None
    return factory(settings, graph=graph, **extra)
