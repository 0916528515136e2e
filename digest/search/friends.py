"""Friend events from the search index, and a planner choosing per subscriber.

:class:`SearchFriendEvents` answers the digest's question with one query per subscriber:
"events starting in the window whose attendees or speakers include any of the people I
follow" (split into parts of 2,048 ids above that, merged). The follow set comes from the
Redis graph, like the Redis strategy's. Its answer is identical to
:class:`digest.friends.RedisFriendEvents`'s: both read attendance with the roles
"attending" and "speaking", filtered on the event's start date.

:class:`PlannedFriendEvents` sends each subscriber to one of the two by the size of
their follow set. The work of both grows with the (event, followed person) pairs found;
Redis does its share in Lua and set unions, fetching each followee's events (cached
for a while), search adds a query per subscriber and reads who is at the events once
per batch. bench/search.py on 100,000 people and 10,000 events: Redis several times
faster for the usual follow sets (median 6), search 1.3-1.5x faster for follow sets
above a thousand or two (cold caches for both); so Redis up to 2,048 followed people
(one OR query's worth), search above (LANYARD_FRIENDS_STRATEGY=auto).
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

from ..graph import Graph
from ..values import FriendEvents, Window
from ..vocabulary import Role
from .index import SearchIndex

# Follow-set size above which a subscriber goes to search (see the module's docstring).
SEARCH_THRESHOLD = 2_048

# The subscribers whose follow set is larger than the threshold, in one round trip: a
# pipeline of one SCARD per subscriber costs the client more than the Redis strategy's
# own work for a small follow set. ARGV: follows prefix, threshold, subscriber ids…
_LARGE_FOLLOW_SETS_LUA = """
local large = {}
for i = 3, #ARGV do
  if redis.call('SCARD', ARGV[1] .. ARGV[i]) > tonumber(ARGV[2]) then large[#large + 1] = ARGV[i] end
end
return large
"""


def follow_sets(graph: Graph, person_ids: Sequence[int]) -> dict[int, set[int]]:
    """Each person's follow set from the live graph generation, in one round trip."""
    keys = graph.keys()
    pipe = graph.redis.pipeline(transaction=False)
    for person_id in person_ids:
        pipe.smembers(keys.follows(person_id))
    return {p: {int(m) for m in members} for p, members in zip(person_ids, pipe.execute())}


class SearchFriendEvents:
    """One people query per subscriber for the ids of their events (no stored document
    read), then who is at those events, read once per batch (subscribers in a batch
    share events) and turned around: person → their events in the batch, so each
    subscriber's answer costs what it holds."""

    name = "search"

    def __init__(self, index: SearchIndex, graph: Graph):
        self.index = index
        self.graph = graph

    def friend_events(self, subscriber_ids: Sequence[int], window: Window) -> dict[int, FriendEvents]:
        subscriber_ids = list(dict.fromkeys(subscriber_ids))
        if not subscriber_ids:
            return {}
        follows = follow_sets(self.graph, subscriber_ids)
        events = {s: self.index.event_ids_with_people(follows[s], window.start, window.end) for s in subscriber_ids}
        followed = set().union(*follows.values())
        at: dict[int, list[tuple[int, str]]] = {}  # person → [(event, role)], for followed people
        for event_id, (attendees, speakers) in self.index.people_at(set().union(*events.values())).items():
            for person in followed.intersection(attendees):
                at.setdefault(person, []).append((event_id, Role.ATTENDING))
            for person in followed.intersection(speakers):
                at.setdefault(person, []).append((event_id, Role.SPEAKING))
        result: dict[int, FriendEvents] = {}
        for s in subscriber_ids:
            mine, found = events[s], {}
            for person in follows[s]:
                for event_id, role in at.get(person, ()):
                    if event_id in mine:
                        found.setdefault(event_id, {})[person] = role
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
        self._large = search_strategy.graph.redis.register_script(_LARGE_FOLLOW_SETS_LUA)

    @property
    def name(self) -> str:
        return "auto:" + "+".join(self._last) if self._last else "auto"

    def plan(self, subscriber_ids: Sequence[int]) -> dict[str, list[int]]:
        graph = self.search_strategy.graph
        large = {int(p) for p in self._large(keys=[], args=[graph.keys().follows(""), self.threshold, *subscriber_ids])}
        return {
            "redis": [p for p in subscriber_ids if p not in large],
            "search": [p for p in subscriber_ids if p in large],
        }

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
