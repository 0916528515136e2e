"""Friend events from the search index, and a planner choosing per subscriber.

:class:`SearchFriendEvents` answers the digest's question with one query per subscriber:
"events starting in the window whose attendees or speakers include any of the people I
follow" (split into parts of 2,048 ids above that, merged). The follow set comes from the
Redis graph, like the Redis strategy's. Its answer is identical to
:class:`digest.nightly.friend_events.RedisFriendEvents`'s: both read attendance with the roles
"attending" and "speaking", filtered on the event's start date.

:class:`PlannedFriendEvents` sends each subscriber to whichever of the two costs less for
a follow set of their size, by what it measured itself in this process (a fixed
threshold calibrated on one machine sent heavy followers the wrong way on another).
Sizes fall into classes (powers of 4). The choice per class comes from probes: a class's
subscribers in a batch answered by both strategies in turn, timed on the same people,
three times (the first only warms up), then fixed until the class is probed again after
PROBE_EVERY batches of it. Measuring each strategy on a different half of a class, and
moving the figures with every call, cost more than it saved (the planner reached 0.32x
to 0.92x of the best single strategy): the halves differ, a Redis call on half a class
loses the sharing of followees' events, and a figure moved by one slow call flips
choices back and forth. Settled figures are kept in Redis per engine
(:mod:`digest.search.cost_store`), so a new worker starts settled.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from digest.config import Settings
from digest.errors import SearchMissing
from digest.graph.store import Graph
from digest.search import open_search
from digest.search.cost_store import FIGURES_MAX_AGE, ClassFigures, CostStore
from digest.search.index import SearchIndex
from digest.stores.keys import GraphKeys
from digest.stores.scripts import lua
from digest.values import FriendEvents, FriendEventsFromFollows, LazyFriendEvents, Window
from digest.vocabulary import Role

STRATEGY_NAMES = ("redis", "search")
# A class is probed again after this many batches with it, so a cost that moved (warm
# caches, a quieter machine, a grown index) is seen; its work is done twice in one batch
# of this many at most.
PROBE_EVERY = 200
# Probes of a class that only warm it up: a strategy's first call on some people runs on
# cold caches (the Redis strategy fetches every followee's events and keeps them for a
# while, search opens its readers), so the next probe's figures replace the warm-up's.
WARMUP_PROBES = 1
# Probes after the warm-up before a class's choice is trusted: the best of two figures
# per strategy, as one alone can catch a load spike on either side.
MEASURED_PROBES = 2
# A class probed on few subscribers (a lone pair of heavy followers in a chunk of light
# ones) is probed again when it shows up this many times more numerous in one batch.
GROUP_GROWTH = 4
# Search takes a class only when probed this much cheaper: a class moved out of the Redis
# call takes with it the followees it shared with bigger classes, and the batch pays two
# calls' fixed costs, which its probe does not see. A near tie stays with Redis.
SEARCH_MARGIN = 0.95
# Subscribers of a class one probe takes at most (the rest of the class in the batch goes
# by the class's last figures or a neighbour's, else Redis): the work done twice stays
# small, and beyond a few dozen subscribers the cost per subscriber hardly moves.
PROBE_CAP = 32
RECENT_FIGURES = 3  # figures per (strategy, class) that choices take the best of
CHECK_SECONDS = 60.0  # how long the search strategy trusts that the index is there

_FOLLOW_SET_SIZES_LUA = lua("follow_set_sizes")


def size_class(follow_set_size: int) -> int:
    """0 for nobody, then 1 for 1-3 followed people, 2 for 4-15, 3 for 16-63, … (powers of 4)."""
    return (follow_set_size.bit_length() + 1) // 2


def follow_sets(graph: Graph, person_ids: Sequence[int], keys: GraphKeys | None = None) -> dict[int, set[int]]:
    """Each person's follow set from the live graph generation (or ``keys``'), in one round trip."""
    return {p: {int(m) for m in members} for p, members in raw_follow_sets(graph, person_ids, keys).items()}


def raw_follow_sets(graph: Graph, person_ids: Sequence[int], keys: GraphKeys | None = None) -> dict[int, set[bytes]]:
    """The follow sets as Redis returns them: the Redis strategy reads its ids from these
    itself, and turning every member into an int first cost the planner a fifth of a
    typical batch."""
    keys = keys or graph.keys()
    pipe = graph.redis.pipeline(transaction=False)
    for person_id in person_ids:
        pipe.smembers(keys.follows(person_id))
    return dict(zip(person_ids, pipe.execute(), strict=False))


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
        if any(follows.values()):
            self._check()
        start, end = window.start, window.end
        events = {s: self.index.event_ids_with_people(follows[s], start, end) for s in follows}
        at = self.index.people_at(set().union(*events.values()))
        return {s: PeopleAtEvents(frozenset(events[s]), follows[s], at) for s in follows}


_NOBODY: tuple[frozenset[int], frozenset[int]] = (frozenset(), frozenset())


class PeopleAtEvents(LazyFriendEvents):
    """One subscriber's answer from the index: the events its query found, and who of the
    people they follow is at one of them, worked out when asked (two set intersections in
    C) from who is at each event, read once for the batch. Working out all of a heavy
    follower's hundreds of events up front, in Python, was a quarter of the strategy's time."""

    __slots__ = ("_follows", "_at", "_people")

    def __init__(self, ids: frozenset[int], follows: Collection[int],
                 at: Mapping[int, tuple[frozenset[int], frozenset[int]]]):
        super().__init__(ids)
        self._follows = follows if isinstance(follows, (set, frozenset)) else frozenset(follows)
        self._at = at
        self._people: dict[int, dict[int, str]] = {}

    def __getitem__(self, event_id: int) -> dict[int, str]:
        people = self._people.get(event_id)
        if people is None:
            if event_id not in self._ids:
                raise KeyError(event_id)
            attendees, speakers = self._at.get(event_id, _NOBODY)
            people = dict.fromkeys(self._follows.intersection(attendees), Role.ATTENDING)
            people.update(dict.fromkeys(self._follows.intersection(speakers), Role.SPEAKING))
            self._people[event_id] = people
        return people

    def speaking_events(self) -> frozenset[int]:
        return frozenset(e for e in self._ids if not self._follows.isdisjoint(self._at.get(e, _NOBODY)[1]))


@dataclass
class CostModel:
    """Seconds per subscriber, per (strategy, size class), from paired probes.

    A probe answers one class's subscribers of a batch with both strategies, one after the
    other, on the same people: the two figures are comparable (same follow sets, same
    moment of the machine), unlike figures of each strategy on different halves of a
    class. Between probes the figures stay fixed: calls that answer a batch are not timed,
    so a choice never flips on one slow call. A class is probed again after
    PROBE_EVERY of its batches or FIGURES_MAX_AGE after its last probe (a bounded share of
    its work done twice), or when it shows up GROUP_GROWTH times more numerous than when
    probed (subscribers in one call share their followees' events, so the cost per
    subscriber depends on how many there are).
    Choices go by the best of the last RECENT_FIGURES figures: a load spike or a cold
    cache only ever makes a figure worse.
    """

    recent: dict[tuple[str, int], deque[float]] = field(default_factory=dict)  # per-subscriber seconds
    probes: Counter[int] = field(default_factory=Counter)  # probes per class since its figures were reset
    probed_at: dict[int, int] = field(default_factory=dict)  # the class's batch count at its last probe
    probed_time: dict[int, float] = field(default_factory=dict)  # when (time.time()) of its last probe
    group: dict[int, int] = field(default_factory=dict)  # subscribers in the class's last probe
    batches: Counter[int] = field(default_factory=Counter)  # batches seen per class
    clock: Callable[[], float] = time.time  # probe times, compared with other processes' (kept figures)

    def cost(self, strategy: str, cls: int) -> float | None:
        figures = self.recent.get((strategy, cls))
        return min(figures) if figures else None

    def settled(self, cls: int, group: int = 0) -> bool:
        """Probed MEASURED_PROBES times past its warm-up, not PROBE_EVERY batches nor
        FIGURES_MAX_AGE ago, and on at least 1/GROUP_GROWTH of ``group`` subscribers."""
        if self.probes[cls] < WARMUP_PROBES + MEASURED_PROBES:
            return False
        if min(group, PROBE_CAP) >= GROUP_GROWTH * self.group[cls]:
            return False
        if self.clock() - self.probed_time[cls] >= FIGURES_MAX_AGE:
            return False
        return self.batches[cls] - self.probed_at[cls] < PROBE_EVERY

    def cheaper(self, cls: int, group: int = 0) -> str | None:
        """The strategy probed cheaper for the class (for ``group`` subscribers of it;
        search by SEARCH_MARGIN), None until the class is settled."""
        return self._choice(cls) if self.settled(cls, group) else None

    def nearest(self, cls: int) -> str | None:
        """The choice of the class or, failing it, of a neighbour (costs grow smoothly with
        the follow-set size): what a lone subscriber of an unprobed class goes by."""
        for near in (cls, cls - 1, cls + 1):
            if self.probes[near] >= WARMUP_PROBES + MEASURED_PROBES:
                return self._choice(near)
        return None

    def _choice(self, cls: int) -> str:
        redis, search = self.cost("redis", cls), self.cost("search", cls)
        if redis is None or search is None:
            return "redis"
        return "search" if search < SEARCH_MARGIN * redis else "redis"

    def record(self, cls: int, count: int, seconds: Mapping[str, float]) -> None:
        """A probe: ``count`` subscribers of the class took ``seconds`` per strategy."""
        regrouped = count >= GROUP_GROWTH * self.group.get(cls, count)
        if self.probes[cls] <= WARMUP_PROBES or regrouped:
            # A warm-up's figures (cold caches, readers opening) and figures for a much
            # smaller group are replaced, not kept among the recent ones.
            for name in STRATEGY_NAMES:
                self.recent.pop((name, cls), None)
        self.probes[cls] += 1
        for name, spent in seconds.items():
            self.recent.setdefault((name, cls), deque(maxlen=RECENT_FIGURES)).append(spent / count)
        self.group[cls] = count
        self.probed_at[cls] = self.batches[cls]
        self.probed_time[cls] = self.clock()

    def figures(self, cls: int) -> ClassFigures | None:
        """The class's figures to keep for other planners, once settled (None before)."""
        if self.probes[cls] < WARMUP_PROBES + MEASURED_PROBES:
            return None
        seconds = {name: list(self.recent.get((name, cls), ())) for name in STRATEGY_NAMES}
        if not all(seconds.values()):
            return None
        return ClassFigures(seconds=seconds, group=self.group[cls], at=self.probed_time[cls])

    def adopt(self, cls: int, figures: ClassFigures) -> bool:
        """Take a class's figures kept by a planner (this worker's before a restart, or
        another's) when probed later than this model's own: the class counts as settled,
        and as probed when they were (its PROBE_EVERY batches start now)."""
        if figures.at <= self.probed_time.get(cls, float("-inf")):
            return False
        for name in STRATEGY_NAMES:
            self.recent[(name, cls)] = deque(figures.seconds[name], maxlen=RECENT_FIGURES)
        self.probes[cls] = max(self.probes[cls], WARMUP_PROBES + MEASURED_PROBES)
        self.group[cls] = figures.group
        self.probed_at[cls] = self.batches[cls]
        self.probed_time[cls] = figures.at
        return True


@dataclass(frozen=True)
class Call:
    """One part of a planned batch: the subscribers, answered by ``strategy``, or by both
    in turn (``probe``: the class ``cls`` measured, the first one's answer kept)."""

    strategy: str
    subscriber_ids: list[int]
    probe: bool = False
    cls: int = 0

    def order(self, probes: int) -> tuple[str, ...]:
        """A probe's strategies, taking turns first from probe to probe."""
        if not self.probe:
            return (self.strategy,)
        return STRATEGY_NAMES if probes % 2 == 0 else STRATEGY_NAMES[::-1]


class PlannedFriendEvents:
    """Per subscriber, the strategy probed cheaper for their follow-set size.

    A size class of two or more subscribers in a batch that is not settled (see
    :class:`CostModel`) is probed: up to PROBE_CAP of them answered by both strategies,
    timed. A lone subscriber of an unsettled class goes by its class's or a neighbour's
    last figures, else joins the batch's biggest call: alone, it would cost a call of its
    own. Everything else goes, merged per strategy, to the cheaper one. A class settles
    after WARMUP_PROBES + MEASURED_PROBES probes, so on a steady workload the probing is a
    few batches at the start of a process's first run, then one batch per class in
    PROBE_EVERY. With a ``store``, a class's figures are written there when it settles or
    is re-probed, and read on the first batch and before any batch that would probe: a
    new worker starts with the figures an earlier one settled, and a class another worker
    re-probed lately is not probed again.

    ``name`` says which strategies the last batch used ("auto:redis", "auto:search" or
    "auto:redis+search"), which the digest run records; ``usage`` counts subscribers per
    strategy over this planner's life (a probe counts for the answer kept), ``probed`` the
    subscribers it answered twice, in probes.
    """

    def __init__(self, redis_strategy: FriendEventsFromFollows, search_strategy: SearchFriendEvents, *,
                 costs: CostModel | None = None, store: CostStore | None = None):
        self.search = search_strategy
        self.strategies: dict[str, FriendEventsFromFollows] = {"redis": redis_strategy, "search": search_strategy}
        self.costs = costs if costs is not None else CostModel()
        self.store = store
        self._read = False  # the store read once at least
        self.usage: Counter[str] = Counter()
        self.probed = 0
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
        """The calls that answer a batch (subscriber → follow-set size): one merged call
        per strategy, then the probes (one class each), smallest follow sets first. So a
        probe's Redis figure is the class's cost on top of what the batch fetched before
        it for smaller follow sets (subscribers share followees, whose events the Redis
        strategy keeps): what it adds to a Redis call holding the classes below it, which
        is where it lands when search takes the classes above (costs grow with the size)."""
        by_class: dict[int, list[int]] = defaultdict(list)
        for person, size in sizes.items():
            by_class[size_class(size)].append(person)
        probes: list[Call] = []
        merged: dict[str, list[int]] = {name: [] for name in STRATEGY_NAMES}
        lone: list[int] = []
        search_above = False
        for cls, people in sorted(by_class.items()):
            choice = self.costs.cheaper(cls, len(people))
            if choice is None and len(people) == 1:
                choice = self.costs.nearest(cls)
                if choice is None:
                    lone.append(people[0])
                    continue
            if choice is None:
                probes.append(Call("redis+search", people[:PROBE_CAP], probe=True, cls=cls))
                merged[self.costs.nearest(cls) or "redis"].extend(people[PROBE_CAP:])
            else:
                # Search's edge grows with the follow set (a query per 2,048 followees
                # against a fetch and a union per followee): above a class that goes to
                # search, a class probed the other way is a near tie read through noise.
                search_above = search_above or choice == "search"
                merged["search" if search_above else choice].extend(people)
        if lone:  # into the biggest merged call (Redis when there is none)
            host = max(STRATEGY_NAMES, key=lambda name: (len(merged[name]), name == "redis"))
            merged[host].extend(lone)
        return [Call(name, merged[name]) for name in STRATEGY_NAMES if merged[name]] + probes

    def _planned(self, sizes: Mapping[int, int]) -> list[Call]:
        """:meth:`plan`, after reading the store on the first batch, or when the plan
        would probe (one round trip, on the rare batches that cost two strategies' work)."""
        calls = self.plan(sizes)
        if self.store is not None and (not self._read or any(call.probe for call in calls)):
            self._read = True
            for cls, figures in self.store.read().items():
                self.costs.adopt(cls, figures)
            calls = self.plan(sizes)
        return calls

    def friend_events(self, subscriber_ids: Sequence[int], window: Window) -> dict[int, FriendEvents]:
        subscriber_ids = list(dict.fromkeys(subscriber_ids))
        if not subscriber_ids:
            return {}
        # The follow sets, read once for the plan and for both strategies: the planner
        # adds no round trip to what the strategy it picks makes anyway.
        graph = self.search.graph
        keys = graph.keys()
        follows = raw_follow_sets(graph, subscriber_ids, keys)
        calls = self._planned({p: len(members) for p, members in follows.items()})
        found: dict[int, FriendEvents] = {}
        used: set[str] = set()
        for call in calls:
            mine = {p: follows[p] for p in call.subscriber_ids}
            order = call.order(self.costs.probes[call.cls])
            seconds: dict[str, float] = {}
            for name in order:
                started = time.perf_counter()
                # Ids as bytes for Redis (it reads them itself), as ints for search.
                given: Mapping[int, Collection[Any]] = (
                    mine if name == "redis" else {p: {int(m) for m in members} for p, members in mine.items()}
                )
                answer = self.strategies[name].friend_events_from(given, window, keys)
                seconds[name] = time.perf_counter() - started
                if name == order[0]:
                    found.update(answer)  # a probe's second answer is the same, by contract
            used.add(order[0])
            self.usage[order[0]] += len(mine)
            if call.probe:
                self.probed += len(mine)
                self.costs.record(call.cls, len(mine), seconds)
                settled = self.costs.figures(call.cls)
                if self.store is not None and settled is not None:
                    self.store.write(call.cls, settled)
        self.costs.batches.update({size_class(len(members)) for members in follows.values()})
        self._last = tuple(name for name in STRATEGY_NAMES if name in used)
        return found


def search_strategy(
    settings: Settings, *, graph: Graph, search: SearchIndex | None = None, **extra: Any
) -> SearchFriendEvents:
    """LANYARD_FRIENDS_STRATEGY=search; ``search`` defaults to the configured engine."""
    return SearchFriendEvents(search if search is not None else open_search(settings), graph)


def planned_strategy(
    settings: Settings, *, graph: Graph, redis_strategy: FriendEventsFromFollows, search: SearchIndex | None = None,
    **extra: Any,
) -> PlannedFriendEvents:
    """LANYARD_FRIENDS_STRATEGY=auto: Redis or search per subscriber, by probed cost for their
    follow-set size, the figures kept in the graph's Redis for the engine."""
    search_friends = search_strategy(settings, graph=graph, search=search)
    store = CostStore.for_engine(graph.redis, graph.prefix, search_friends.index, strategies=STRATEGY_NAMES)
    return PlannedFriendEvents(redis_strategy, search_friends, store=store)
