"""Friend-attended events: for each subscriber, the upcoming events that people they
follow attend or speak at, and who of them is there.

A *strategy* answers that for a batch of subscribers at once. The one here reads the
Redis graph (``digest/graph.py``); a search-backed one (one OR query per subscriber)
can sit beside it. :func:`make_friend_strategy` picks one from the configuration
(``LANYARD_FRIENDS_STRATEGY``), and the digest run records which it used.
"""

from __future__ import annotations

from typing import Callable, Protocol, Sequence, runtime_checkable

from .config import ConfigError, Settings
from .graph import Graph, day_number
from .values import FriendEvents, Window

# Subscribers per script call. A call runs one ZRANGEBYSCORE per followee, so a group
# with someone following thousands still holds the server for milliseconds only; the
# calls of a whole chunk travel in one pipeline (one round trip).
SCRIPT_GROUP = 50


@runtime_checkable
class FriendEventsStrategy(Protocol):
    name: str

    def friend_events(self, subscriber_ids: Sequence[int], window: Window) -> dict[int, FriendEvents]:
        """subscriber person id → {event id → {followed person id → "speaking" | "attending"}}.

        Every subscriber asked about is in the answer, with ``{}`` when there is nothing.
        """


# For each subscriber: the union over the people they follow of those people's events
# in the window (a range of the ``events:`` sorted set, scored by start day), each
# paired with the followee and whether they speak there. One flat string per
# subscriber, "event person role event person role …" (role s or a): building Lua
# tables of thousands of entries and sending them as nested replies costs far more.
# ARGV: follows prefix, events prefix, speakers prefix, low day, high day, subscriber ids…
_FRIEND_EVENTS_LUA = """
local follows_prefix, events_prefix, speakers_prefix = ARGV[1], ARGV[2], ARGV[3]
local low, high = ARGV[4], ARGV[5]
local out = {}
for i = 6, #ARGV do
  local parts = {}
  local followees = redis.call('SMEMBERS', follows_prefix .. ARGV[i])
  for _, person in ipairs(followees) do
    local events = redis.call('ZRANGEBYSCORE', events_prefix .. person, low, high)
    for _, event in ipairs(events) do
      local role = 'a'
      if redis.call('SISMEMBER', speakers_prefix .. event, person) == 1 then role = 's' end
      parts[#parts + 1] = event .. ' ' .. person .. ' ' .. role
    end
  end
  out[#out + 1] = table.concat(parts, ' ')
end
return out
"""

_ROLES = {"s": "speaking", "a": "attending"}


class RedisFriendEvents:
    """Friend events from the Redis graph: a few round trips per batch of subscribers."""

    name = "redis"

    def __init__(self, graph: Graph, *, group: int = SCRIPT_GROUP):
        self.graph = graph
        self.group = group
        self._script = graph.redis.register_script(_FRIEND_EVENTS_LUA)

    def friend_events(self, subscriber_ids: Sequence[int], window: Window) -> dict[int, FriendEvents]:
        subscriber_ids = list(dict.fromkeys(subscriber_ids))
        if not subscriber_ids:
            return {}
        # Resolved once per batch: a rebuild swapping generations meanwhile leaves the
        # old one readable for minutes (graph.OLD_GENERATION_TTL).
        keys = self.graph.keys()
        prefixes = [keys.follows(""), keys.events(""), keys.speakers("")]
        bounds = [day_number(window.start), day_number(window.end)]
        pipe = self.graph.redis.pipeline(transaction=False)
        groups = [subscriber_ids[i:i + self.group] for i in range(0, len(subscriber_ids), self.group)]
        for group in groups:
            self._script(keys=[], args=[*prefixes, *bounds, *group], client=pipe)
        result: dict[int, FriendEvents] = {}
        for group, replies in zip(groups, pipe.execute()):
            for subscriber_id, reply in zip(group, replies):
                result[subscriber_id] = _parse(reply)
        return result


def _parse(reply: bytes) -> FriendEvents:
    events: FriendEvents = {}
    fields = reply.split()
    for i in range(0, len(fields), 3):
        people = events.get(int(fields[i]))
        if people is None:
            people = events[int(fields[i])] = {}
        people[int(fields[i + 1])] = _ROLES[fields[i + 2].decode()]
    return events


StrategyFactory = Callable[..., FriendEventsStrategy]

# name → factory(settings, graph=…, **extra). The search strategy and the planner
# register here.
STRATEGIES: dict[str, StrategyFactory] = {
    "redis": lambda settings, *, graph, **extra: RedisFriendEvents(graph),
    # digest/search/friends.py: one OR query per subscriber, and the per-subscriber planner.
    "search": lambda settings, *, graph, **extra: _search().search_strategy(settings, graph=graph, **extra),
    "auto": lambda settings, *, graph, **extra: _search().planned_strategy(
        settings, graph=graph, redis_strategy=RedisFriendEvents(graph), **extra
    ),
}


def _search():
    from .search import friends  # imported on demand: the Redis strategy needs no search engine

    return friends


def make_friend_strategy(settings: Settings, *, graph: Graph, name: str | None = None, **extra) -> FriendEventsStrategy:
    """The strategy named by ``name`` or ``LANYARD_FRIENDS_STRATEGY`` (default "redis")."""
    name = name or settings.friends_strategy
    try:
        factory = STRATEGIES[name]
    except KeyError:
        raise ConfigError(
            "LANYARD_FRIENDS_STRATEGY", f"unknown strategy {name!r}; known: {', '.join(sorted(STRATEGIES))}"
        ) from None
    return factory(settings, graph=graph, **extra)
