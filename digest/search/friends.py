"""Friend events from the search index, and a planner choosing per subscriber.

:class:`SearchFriendEvents` answers the digest's question with one query per subscriber:
"events starting in the window whose attendees or speakers include any of the people I
follow" (split into parts of 2,048 ids above that, merged). The follow set comes from the
Redis graph, like the Redis strategy's. Its answer is identical to
:class:`digest.friends.RedisFriendEvents`'s: both read attendance with the roles
"attending" and "speaking", filtered on the event's start date.

:class:`PlannedFriendEvents` sends each subscriber to the cheaper strategy: the Redis
script costs one range read per followed person, the search query about the same for
any follow set, so small follow sets go to Redis and large ones to search. The
threshold comes from ``bench/search.py`` (LANYARD_FRIENDS_STRATEGY=auto).
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

from ..graph import Graph
from ..values import FriendEvents, Window
from .index import SearchIndex

# Follow-set size above which one search query beats the Redis script (bench/search.py).
SEARCH_THRESHOLD = 400


def follow_sets(graph: Graph, person_ids: Sequence[int]) -> dict[int, set[int]]:
    """Each person's follow set from the live graph generation, in one round trip."""
    keys = graph.keys()
    pipe = graph.redis.pipeline(transaction=False)
    for person_id in person_ids:
        pipe.smembers(keys.follows(person_id))
    return {p: {int(m) for m in members} for p, members in zip(person_ids, pipe.execute())}


class SearchFriendEvents:
    """One people query per subscriber for the event ids (no stored documents read), then
    who is at those events read once per batch: subscribers in a batch share events."""

    name = "search"

    def __init__(self, index: SearchIndex, graph: Graph):
        self.index = index
        self.graph = graph

    def friend_events(self, subscriber_ids: Sequence[int], window: Window) -> dict[int, FriendEvents]:
        subscriber_ids = list(dict.fromkeys(subscriber_ids))
        if not subscriber_ids:
            return {}
        follows = follow_sets(self.graph, subscriber_ids)
        events = {
            s: [hit.id for hit in self.index.events_with_people(follows[s], window.start, window.end, limit=None).hits]
            for s in subscriber_ids
        }
        people = self.index.people_at({e for found in events.values() for e in found})
        result: dict[int, FriendEvents] = {}
        for s in subscriber_ids:
            followed = follows[s]
            found: FriendEvents = {}
            for event_id in events[s]:
                attendees, speakers = people[event_id]
                there = {p: "attending" for p in followed.intersection(attendees)}
                there.update({p: "speaking" for p in followed.intersection(speakers)})
                found[event_id] = there
            result[s] = found
        return result


class PlannedFriendEvents:
    """Redis for follow sets up to ``threshold`` people, the search query above it.

    ``name`` says which strategies the last batch used ("auto:redis", "auto:search" or
    "auto:redis+search"), which the digest run records; ``usage`` counts subscribers per
    strategy over this planner's life.
    """

    def __init__(self, redis_strategy, search_strategy: SearchFriendEvents, *, threshold: int = SEARCH_THRESHOLD):
        self.redis_strategy = redis_strategy
        self.search_strategy = search_strategy
        self.threshold = threshold
        self.usage: Counter[str] = Counter()
        self._last: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return "auto:" + "+".join(self._last) if self._last else "auto"

    def plan(self, subscriber_ids: Sequence[int]) -> dict[str, list[int]]:
        graph = self.search_strategy.graph
        keys = graph.keys()
        pipe = graph.redis.pipeline(transaction=False)
        for person_id in subscriber_ids:
            pipe.scard(keys.follows(person_id))
        plan: dict[str, list[int]] = {"redis": [], "search": []}
        for person_id, size in zip(subscriber_ids, pipe.execute()):
            plan["search" if size > self.threshold else "redis"].append(person_id)
        return plan

    def friend_events(self, subscriber_ids: Sequence[int], window: Window) -> dict[int, FriendEvents]:
        subscriber_ids = list(dict.fromkeys(subscriber_ids))
        if not subscriber_ids:
            return {}
        plan = self.plan(subscriber_ids)
        found: dict[int, FriendEvents] = {}
        if plan["redis"]:
            found.update(self.redis_strategy.friend_events(plan["redis"], window))
        if plan["search"]:
            found.update(self.search_strategy.friend_events(plan["search"], window))
        self._last = tuple(name for name in ("redis", "search") if plan[name])
        self.usage.update({name: len(ids) for name, ids in plan.items() if ids})
        return found


def search_strategy(settings, *, graph: Graph, search: SearchIndex | None = None, **extra) -> SearchFriendEvents:
    """LANYARD_FRIENDS_STRATEGY=search; ``search`` defaults to the configured engine."""
    from . import open_search

    return SearchFriendEvents(search if search is not None else open_search(settings), graph)


def planned_strategy(settings, *, graph: Graph, redis_strategy, search: SearchIndex | None = None,
                     threshold: int = SEARCH_THRESHOLD, **extra) -> PlannedFriendEvents:
    """LANYARD_FRIENDS_STRATEGY=auto: Redis or search per subscriber, by follow-set size."""
    return PlannedFriendEvents(redis_strategy, search_strategy(settings, graph=graph, search=search), threshold=threshold)
