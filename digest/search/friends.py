"""Friend events from the search index, and a planner choosing per subscriber.

:class:`SearchFriendEvents` answers the digest's question with one query per subscriber:
"events starting in the window whose attendees or speakers include any of the people I
follow" (split into parts of 2,048 ids above that, merged). The follow set comes from the
Redis graph, like the Redis strategy's. Its answer is identical to
:class:`digest.nightly.friends.RedisFriendEvents`'s: both read attendance with the roles
"attending" and "speaking", filtered on the event's start date.

:class:`PlannedFriendEvents` sends each subscriber to whichever of the two costs less for
a follow set of their size, by what it measured itself in this process. A fixed
threshold calibrated on one machine sent heavy followers the wrong way on another
(0.53x and 0.31x of the best single strategy there). The follow-set sizes are read in
the one round trip that plans a batch; sizes fall into classes (powers of 4), and per
class and strategy a :class:`CostModel` keeps the seconds per subscriber observed.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict, deque
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from digest.config import Settings
from digest.errors import SearchMissing
from digest.graph.store import Graph
from digest.search import open_search
from digest.search.index import SearchIndex
from digest.stores.keys import GraphKeys
from digest.stores.scripts import lua
from digest.values import FriendEvents, FriendEventsFromFollows, Window
from digest.vocabulary import Role

STRATEGY_NAMES = ("redis", "search")
# The old fixed threshold (one OR query's worth of followed people): now only which
# strategy takes the first half of a class being measured.
SEARCH_THRESHOLD = 2_048
# A class's measurement of the strategy it does not use is taken again after this many
# batches with that class, so a cost that fell (warm caches, a quieter machine) is seen.
REMEASURE_BATCHES = 100
# Weight of a new observation in a running cost (an exponentially weighted mean).
SMOOTHING = 0.5
# Observations of a (strategy, class) that only warm it up: a strategy's first call on
# some people runs on cold caches (the Redis strategy fetches every followee's events
# and keeps them for a while, search opens its readers), so it is measured again before
# its figure is trusted; the next one replaces it.
WARMUP_CALLS = 1
# A class's figure taken on few subscribers (a lone heavy follower in a chunk of light
# ones) is taken again, warm-up and all, when the class shows up this many times more
# numerous in one batch: subscribers in one call share their followees' events, so the
# cost per subscriber depends on how many there are.
GROUP_GROWTH = 4
RECENT_FIGURES = 3  # figures per (strategy, class) that choices take the best of
CHECK_SECONDS = 60.0  # how long the search strategy trusts that the index is there

_FOLLOW_SET_SIZES_LUA = lua("follow_set_sizes")


def size_class(follow_set_size: int) -> int:
    """0 for nobody, then 1 for 1-3 followed people, 2 for 4-15, 3 for 16-63, … (powers of 4)."""
    return (follow_set_size.bit_length() + 1) // 2


def follow_sets(graph: Graph, person_ids: Sequence[int], keys: GraphKeys | None = None) -> dict[int, set[int]]:
    """Each person's follow set from the live graph generation (or ``keys``'), in one round trip."""
    keys = keys or graph.keys()
    pipe = graph.redis.pipeline(transaction=False)
    for person_id in person_ids:
        pipe.smembers(keys.follows(person_id))
    return {p: {int(m) for m in members} for p, members in zip(person_ids, pipe.execute(), strict=False)}


class SearchFriendEvents:
    """One people query per subscriber for the ids of their events (no stored document
    read), then who is at those events, read once per batch (subscribers in a batch
    share events) and turned around: person → their events in the batch, so each
    subscriber's answer costs what it holds."""

    name = "search"

    def __init__(self, index: SearchIndex, graph: Graph):
        self.index = index
        self.graph = graph
        self._checked_at = float("-inf")

    def forget(self) -> None:
        """A new run: check again that the index is there before trusting its answers."""
        self._checked_at = float("-inf")

    def trust(self) -> None:
        """The index was just rebuilt (or found empty with good reason): use it as it is."""
        self._checked_at = time.monotonic()

    def _check(self) -> None:
        # An empty index answers "nothing new" for everyone, which the ledger would settle
        # for good: refuse instead, so the pipeline rebuilds it from the database.
        if time.monotonic() - self._checked_at > CHECK_SECONDS:
            if self.index.document_count() == 0:
                raise SearchMissing("the search index holds no documents; run `lanyard search rebuild`")
            self._checked_at = time.monotonic()

    def friend_events(self, subscriber_ids: Sequence[int], window: Window) -> dict[int, FriendEvents]:
        subscriber_ids = list(dict.fromkeys(subscriber_ids))
        if not subscriber_ids:
            return {}
        return self.friend_events_from(follow_sets(self.graph, subscriber_ids), window)

    def friend_events_from(
        self, follows: Mapping[int, Collection[int]], window: Window, keys: GraphKeys | None = None
    ) -> dict[int, FriendEvents]:
        """The answer for subscribers whose follow sets were read already."""
        subscriber_ids = list(follows)
        if any(follows.values()):
            self._check()
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
            mine = events[s]
            found: dict[int, dict[int, str]] = {}
            for person in follows[s]:
                for event_id, role in at.get(person, ()):
                    if event_id in mine:
                        found.setdefault(event_id, {})[person] = role
            result[s] = found
        return result


@dataclass
class CostModel:
    """Seconds per subscriber, per (strategy, size class), as this process measured them.

    A call on one class sets that class's cost (a running mean); a call mixing classes
    scales every class it held by observed / predicted, so drift in the strategy in use
    is followed without splitting its calls. Choices go by the best of the last
    RECENT_FIGURES figures: a load spike or a cold cache only ever makes a figure worse,
    so the lowest recent one is closest to what a strategy does in steady state.
    """

    costs: dict[tuple[str, int], float] = field(default_factory=dict)
    measured_at: dict[tuple[str, int], int] = field(default_factory=dict)  # the class's batch count then
    batches: Counter[int] = field(default_factory=Counter)  # batches seen per class
    calls: Counter[tuple[str, int]] = field(default_factory=Counter)  # calls measured alone per (strategy, class)
    group: dict[tuple[str, int], int] = field(default_factory=dict)  # subscribers in the call that set the figure
    recent: dict[tuple[str, int], deque[float]] = field(default_factory=dict)  # the last figures, per second

    def cost(self, strategy: str, cls: int) -> float | None:
        return self.costs.get((strategy, cls))

    def stale(self, strategy: str, cls: int, group: int = 0) -> bool:
        """Not measured past its warm-up yet, not for REMEASURE_BATCHES batches of this
        class, or measured on GROUP_GROWTH times fewer subscribers than ``group``."""
        key = (strategy, cls)
        at = self.measured_at.get(key)
        if at is None or self.calls[key] <= WARMUP_CALLS:
            return True
        if group and group >= GROUP_GROWTH * self.group.get(key, group):
            return True
        return self.batches[cls] - at >= REMEASURE_BATCHES

    def cheaper(self, cls: int, group: int = 0) -> str | None:
        """The strategy measured cheaper for the class (for ``group`` subscribers of it),
        or for a neighbouring class when this one lacks a fresh figure of both (costs grow
        smoothly with the follow-set size, so a class of a lone heavy follower need not be
        measured on its own); None when neither it nor a neighbour has both."""
        for near in (cls, cls - 1, cls + 1):
            if not any(self.stale(name, near, group if near == cls else 0) for name in STRATEGY_NAMES):
                return min(STRATEGY_NAMES, key=lambda name: min(self.recent[(name, near)]))
        return None

    def restart(self, strategy: str, cls: int) -> None:
        """Measure the class again from a warm-up, as if it were new."""
        self.calls[(strategy, cls)] = 0

    def record(self, strategy: str, counts: Counter[int], seconds: float) -> None:
        """A call of ``strategy`` on ``counts`` subscribers per class took ``seconds``."""
        known = {cls: self.costs.get((strategy, cls)) for cls in counts}
        if len(counts) == 1:
            (cls, count), = counts.items()
            self.calls[(strategy, cls)] += 1
            if self.calls[(strategy, cls)] <= WARMUP_CALLS + 1:
                # A warm-up's figure is replaced, not averaged.
                self.costs.pop((strategy, cls), None)
                self.recent.pop((strategy, cls), None)
            self.group[(strategy, cls)] = count
            self._update(strategy, cls, seconds / count)
            return
        measured = {cls: cost for cls, cost in known.items() if cost is not None}
        if len(measured) < len(known):
            return  # a mixed call with a class never measured alone says nothing attributable
        predicted = sum(measured[cls] * count for cls, count in counts.items())
        ratio = seconds / predicted if predicted > 0 else 1.0
        for cls in counts:
            self._update(strategy, cls, measured[cls] * ratio)

    def _update(self, strategy: str, cls: int, per_subscriber: float) -> None:
        key = (strategy, cls)
        old = self.costs.get(key)
        self.costs[key] = per_subscriber if old is None else old + SMOOTHING * (per_subscriber - old)
        self.recent.setdefault(key, deque(maxlen=RECENT_FIGURES)).append(per_subscriber)
        self.measured_at[key] = self.batches[cls]


@dataclass(frozen=True)
class Call:
    """One strategy call of a planned batch: the subscribers and how many per size class;
    ``restart``: it measures a class again from its warm-up."""

    strategy: str
    subscriber_ids: list[int]
    counts: Counter[int]
    restart: bool = False


class PlannedFriendEvents:
    """Per subscriber, the strategy measured cheaper for their follow-set size.

    A size class without fresh figures of both strategies (here or in a neighbouring
    class) is split: half its subscribers in the batch go to each strategy, in calls of
    their own, which measure them (a class of one subscriber is not measured; it joins
    the batch's biggest call). Everything else goes, merged per strategy, to the cheaper
    one.

    ``name`` says which strategies the last batch used ("auto:redis", "auto:search" or
    "auto:redis+search"), which the digest run records; ``usage`` counts subscribers per
    strategy over this planner's life.
    """

    def __init__(self, redis_strategy: FriendEventsFromFollows, search_strategy: SearchFriendEvents, *,
                 threshold: int = SEARCH_THRESHOLD,
                 costs: CostModel | None = None):
        self.search = search_strategy
        self.strategies: dict[str, FriendEventsFromFollows] = {"redis": redis_strategy, "search": search_strategy}
        self.threshold = threshold
        self.costs = costs if costs is not None else CostModel()
        self.usage: Counter[str] = Counter()
        self._last: tuple[str, ...] = ()
        self._sizes = search_strategy.graph.redis.register_script(_FOLLOW_SET_SIZES_LUA)

    @property
    def name(self) -> str:
        return "auto:" + "+".join(self._last) if self._last else "auto"

    def forget(self) -> None:
        """A new run: both strategies drop what they fetched or checked (the figures stay)."""
        for strategy in self.strategies.values():
            strategy.forget()

    def follow_set_sizes(self, subscriber_ids: Sequence[int]) -> dict[int, int]:
        """Follow-set sizes alone (no members), one round trip: what :meth:`plan` takes."""
        graph = self.search.graph
        sizes = self._sizes(keys=[], args=[graph.keys().follows(""), *subscriber_ids])
        return dict(zip(subscriber_ids, map(int, sizes), strict=False))

    def plan(self, sizes: Mapping[int, int]) -> list[Call]:
        """The calls that answer a batch (subscriber → follow-set size): measuring calls
        (one class each) first, then one merged call per strategy."""
        by_class: dict[int, list[int]] = defaultdict(list)
        for person, size in sizes.items():
            by_class[size_class(size)].append(person)
        measuring: list[Call] = []
        merged: dict[str, list[int]] = {name: [] for name in STRATEGY_NAMES}
        merged_counts: dict[str, Counter[int]] = {name: Counter() for name in STRATEGY_NAMES}
        lone: list[tuple[int, int]] = []  # (class, subscriber) alone in a class nothing decides yet
        for cls, people in sorted(by_class.items()):
            choice = self.costs.cheaper(cls, len(people))
            if choice is not None:
                merged[choice].extend(people)
                merged_counts[choice][cls] += len(people)
                continue
            if len(people) == 1:
                # Never measured alone: a lone heavy follower in a chunk of light ones costs
                # the Redis strategy little inside its merged call (its followees' events
                # are fetched once and shared), much more in a call of its own.
                lone.append((cls, people[0]))
                continue
            # Measure: half the class's subscribers to each strategy.
            stale = [name for name in STRATEGY_NAMES if self.costs.stale(name, cls, len(people))]
            prior = "search" if 4 ** cls > self.threshold * 2 else "redis"  # the class's middle above the threshold
            first = prior if prior in stale else stale[0]
            second = next(name for name in STRATEGY_NAMES if name != first)
            half = len(people) // 2
            for name, part in ((first, people[:half]), (second, people[half:])):
                again = name in stale and self.costs.calls[(name, cls)] > WARMUP_CALLS
                measuring.append(Call(name, part, Counter({cls: len(part)}), restart=again))
        if lone:  # into the biggest merged call (Redis when there is none)
            host = max(STRATEGY_NAMES, key=lambda name: (len(merged[name]), name == "redis"))
            for cls, person in lone:
                merged[host].append(person)
                merged_counts[host][cls] += 1
        return measuring + [Call(name, merged[name], merged_counts[name]) for name in STRATEGY_NAMES if merged[name]]

    def friend_events(self, subscriber_ids: Sequence[int], window: Window) -> dict[int, FriendEvents]:
        subscriber_ids = list(dict.fromkeys(subscriber_ids))
        if not subscriber_ids:
            return {}
        # The follow sets, read once for the plan and for both strategies: the planner
        # adds no round trip to what the strategy it picks makes anyway.
        graph = self.search.graph
        keys = graph.keys()
        follows = follow_sets(graph, subscriber_ids, keys)
        calls = self.plan({p: len(members) for p, members in follows.items()})
        found: dict[int, FriendEvents] = {}
        for call in calls:
            if call.restart:
                (cls,) = call.counts
                self.costs.restart(call.strategy, cls)
            started = time.perf_counter()
            mine = {p: follows[p] for p in call.subscriber_ids}
            found.update(self.strategies[call.strategy].friend_events_from(mine, window, keys))
            self.costs.record(call.strategy, call.counts, time.perf_counter() - started)
        self.costs.batches.update({cls for call in calls for cls in call.counts})
        used = {call.strategy for call in calls}
        self._last = tuple(name for name in STRATEGY_NAMES if name in used)
        self.usage.update({call.strategy: len(call.subscriber_ids) for call in calls})
        return found


def search_strategy(
    settings: Settings, *, graph: Graph, search: SearchIndex | None = None, **extra: Any
) -> SearchFriendEvents:
    """LANYARD_FRIENDS_STRATEGY=search; ``search`` defaults to the configured engine."""
    return SearchFriendEvents(search if search is not None else open_search(settings), graph)


def planned_strategy(
    settings: Settings, *, graph: Graph, redis_strategy: FriendEventsFromFollows, search: SearchIndex | None = None,
    threshold: int = SEARCH_THRESHOLD, **extra: Any,
) -> PlannedFriendEvents:
    """LANYARD_FRIENDS_STRATEGY=auto: Redis or search per subscriber, by measured cost for their follow-set size."""
    search_friends = search_strategy(settings, graph=graph, search=search)
    return PlannedFriendEvents(redis_strategy, search_friends, threshold=threshold)
