"""The search-backed friend events and the planner give exactly the Redis strategy's
answer, on seeded data (SQLite and PostgreSQL), including subscribers who follow more
people than one OR query takes."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter

import pytest
import redis
from sqlalchemy import select

from digest.demo.seed import SeedPlan, seed
from digest.graph.store import Graph
from digest.graph.sync import rebuild as rebuild_graph
from digest.nightly.friend_events import FriendEventsStrategy, RedisFriendEvents, make_friend_strategy, speaking_events
from digest.search.cost_store import FIGURES_MAX_AGE, CostStore
from digest.search.friends import (
    GROUP_GROWTH,
    MEASURED_PROBES,
    PROBE_CAP,
    PROBE_EVERY,
    SEARCH_MARGIN,
    STRATEGY_NAMES,
    WARMUP_PROBES,
    CostModel,
    PlannedFriendEvents,
    SearchFriendEvents,
    size_class,
)
from digest.search.index import MAX_CLAUSES
from digest.search.sync import rebuild as rebuild_search
from digest.stores import db
from digest.stores.keys import GraphKeys, RedisKeys
from digest.values import Window
from tests.digest.search.conftest import ENGINES
from tests.faults.servers import RedisServer

TODAY = dt.date(2026, 12, 1)
BIG_FOLLOWERS = (1, 2)  # made to follow more than MAX_CLAUSES people


@pytest.fixture
def seeded(engine, redis_client, friends_index):
    seed(engine, SeedPlan(people=2_600, events=150, subscribers=40, seed=5, today=TODAY))
    with engine.begin() as connection:
        f = db.follow
        connection.execute(f.delete().where(f.c.follower_id.in_(BIG_FOLLOWERS)))
        for follower in BIG_FOLLOWERS:
            followees = [p for p in range(1, 2_600) if p != follower and (p + follower) % 13]  # ~2,400 people
            db.bulk_insert(
                connection,
                f,
                [{"follower_id": follower, "followee_id": p, "created_at": dt.datetime(2026, 1, 1)} for p in followees],
                ["follower_id", "followee_id", "created_at"],
            )
        subscribers = sorted(
            set(connection.execute(select(db.subscription.c.person_id)).scalars()) | set(BIG_FOLLOWERS)
        )
    graph = Graph(redis_client, "s:")
    rebuild_graph(graph, engine)
    rebuild_search(friends_index, engine, redis_client, RedisKeys("s:"))
    return graph, subscribers


@pytest.mark.parametrize("friends_index", ENGINES, indirect=True)
def test_search_and_planner_agree_with_redis(seeded, friends_index):
    """On every engine: Solr asks the whole follow set in one terms filter, tantivy in
    parts of MAX_CLAUSES; the answers are the Redis strategy's exactly."""
    graph, subscribers = seeded
    assert all(len(graph.follows(p)) > MAX_CLAUSES for p in BIG_FOLLOWERS)
    window = Window(TODAY, TODAY + dt.timedelta(days=90))

    expected = RedisFriendEvents(graph).friend_events(subscribers, window)
    by_search = SearchFriendEvents(friends_index, graph).friend_events(subscribers, window)
    planner = PlannedFriendEvents(RedisFriendEvents(graph), SearchFriendEvents(friends_index, graph))
    planned = planner.friend_events(subscribers, window)

    assert by_search == expected
    assert planned == expected
    # The views answer "where does someone I follow speak" without working out who is where.
    speaking = {p: speaking_events(events) for p, events in expected.items()}
    assert {p: speaking_events(events) for p, events in by_search.items()} == speaking
    assert any(speaking.values())
    assert all(expected[p] for p in BIG_FOLLOWERS)
    assert sum(len(events) for events in expected.values()) > 100  # the data exercises something
    assert {"speaking", "attending"} <= {
        role for events in expected.values() for people in events.values() for role in people.values()
    }
    # Nothing probed yet: every size class of two or more subscribers was answered by both
    # strategies (the answer above is still Redis's exactly); a lone one was not probed.
    counts = Counter(size_class(len(graph.follows(p))) for p in subscribers)
    probed = {cls for cls, n in counts.items() if n > 1}
    assert probed and all(planner.costs.cost(name, cls) is not None for name in STRATEGY_NAMES for cls in probed)
    assert all(planner.costs.probes[cls] == 0 for cls in counts.keys() - probed)
    # Once every class is probed past its warm-up, each batch goes, per class, to what
    # probed cheaper, in one call per strategy and no probe, with the same answer.
    for _ in range(WARMUP_PROBES + MEASURED_PROBES - 1):
        assert planner.friend_events(subscribers, window) == expected
    assert all(planner.costs.settled(cls, counts[cls]) for cls in probed)
    calls = planner.plan(planner.follow_set_sizes(subscribers))
    assert not any(call.probe for call in calls)
    assert len(calls) == len({call.strategy for call in calls})
    # Each class to its cheaper strategy, or to search above a class that goes there.
    first_search = min((cls for cls in probed if planner.costs.cheaper(cls) == "search"), default=99)
    for call in calls:
        assert all(
            ("search" if cls >= first_search else planner.costs.cheaper(cls)) == call.strategy
            for cls in (size_class(len(graph.follows(p))) for p in call.subscriber_ids) if counts[cls] > 1
        )
    assert planner.friend_events(subscribers, window) == expected


def settle(costs: CostModel, cls: int, count: int, redis: float, search: float) -> None:
    """Probes of ``count`` subscribers of the class with these seconds per subscriber, past the warm-up."""
    for _ in range(WARMUP_PROBES + MEASURED_PROBES):
        costs.record(cls, count, {"redis": redis * count, "search": search * count})


def test_clear_cut_choices(seeded, friends_index):
    """A small follow set goes to Redis (a set union of a few cached sets beats a query);
    a huge one, on an engine probed much cheaper for it, goes to search."""
    graph, subscribers = seeded
    big_class = size_class(len(graph.follows(BIG_FOLLOWERS[0])))
    costs = CostModel()
    planner = PlannedFriendEvents(RedisFriendEvents(graph), SearchFriendEvents(friends_index, graph), costs=costs)
    sizes = planner.follow_set_sizes(subscribers)
    counts = Counter(size_class(n) for n in sizes.values())
    for cls, n in counts.items():
        if cls == big_class:
            settle(costs, cls, n, redis=0.050, search=0.005)
        else:
            settle(costs, cls, n, redis=0.00001, search=0.001)
    assert costs.cost("redis", big_class) == pytest.approx(0.050)  # the warm-up's figures replaced
    by_strategy = {call.strategy: set(call.subscriber_ids) for call in planner.plan(sizes)}
    assert by_strategy == {"search": set(BIG_FOLLOWERS), "redis": set(subscribers) - set(BIG_FOLLOWERS)}

    window = Window(TODAY, TODAY + dt.timedelta(days=30))
    planner.friend_events([p for p in subscribers if p not in BIG_FOLLOWERS], window)
    assert planner.name == "auto:redis"
    planner.friend_events(list(BIG_FOLLOWERS), window)
    assert planner.name == "auto:search"
    assert planner.usage == Counter({"redis": len(subscribers) - 2, "search": 2})

    # Search turns slow for the big class at its next probe: one slow figure among the
    # recent ones changes nothing (a load spike only makes a figure worse), a steady
    # change does.
    costs.batches[big_class] += PROBE_EVERY
    assert [call.probe for call in planner.plan(planner.follow_set_sizes(list(BIG_FOLLOWERS)))] == [True]
    costs.record(big_class, 2, {"redis": 2 * 0.050, "search": 2 * 5.0})
    assert costs.cheaper(big_class, 2) == "search"
    while costs.cheaper(big_class, 2) == "search":
        costs.batches[big_class] += PROBE_EVERY
        costs.record(big_class, 2, {"redis": 2 * 0.050, "search": 2 * 5.0})
    assert costs.cheaper(big_class, 2) == "redis"


def test_probing_stops_once_settled(seeded, friends_index):
    """Probing is bounded: batch after batch of the same workload, a class is probed
    WARMUP_PROBES + MEASURED_PROBES times, then answered by one strategy until PROBE_EVERY
    batches pass."""
    graph, subscribers = seeded
    planner = PlannedFriendEvents(RedisFriendEvents(graph), SearchFriendEvents(friends_index, graph))
    window = Window(TODAY, TODAY + dt.timedelta(days=30))
    light = [p for p in subscribers if p not in BIG_FOLLOWERS]
    for _ in range(WARMUP_PROBES + MEASURED_PROBES + 3):
        planner.friend_events(light, window)
    counts = Counter(size_class(len(graph.follows(p))) for p in light)
    assert {cls: planner.costs.probes[cls] for cls, n in counts.items() if n > 1} == {
        cls: WARMUP_PROBES + MEASURED_PROBES for cls, n in counts.items() if n > 1
    }
    assert sum(planner.usage.values()) == len(light) * (WARMUP_PROBES + MEASURED_PROBES + 3)  # a probe answers once


def test_a_lone_subscriber_is_not_probed(seeded, friends_index):
    """Alone in its class, a subscriber follows a neighbouring class's choice, or joins the
    batch's biggest call: a call (and a probe) of its own would cost more than it tells."""
    graph, subscribers = seeded
    big_class = size_class(len(graph.follows(BIG_FOLLOWERS[0])))
    costs = CostModel()
    planner = PlannedFriendEvents(RedisFriendEvents(graph), SearchFriendEvents(friends_index, graph), costs=costs)
    light = [p for p in subscribers if p not in BIG_FOLLOWERS]
    for cls, n in Counter(size_class(len(graph.follows(p))) for p in light).items():
        settle(costs, cls, n, redis=0.00001, search=0.001)
    sizes = planner.follow_set_sizes([*light, BIG_FOLLOWERS[0]])
    assert [(call.strategy, call.probe) for call in planner.plan(sizes)] == [("redis", False)]
    settle(costs, big_class - 1, 3, redis=0.050, search=0.005)
    by_strategy = {call.strategy: call.subscriber_ids for call in planner.plan(sizes)}
    assert by_strategy["search"] == [BIG_FOLLOWERS[0]]
    # Two of the class are probed (both strategies, on the same two people).
    calls = planner.plan(planner.follow_set_sizes(list(BIG_FOLLOWERS)))
    assert [(call.probe, sorted(call.subscriber_ids)) for call in calls] == [(True, sorted(BIG_FOLLOWERS))]


def test_size_classes():
    assert [size_class(n) for n in (0, 1, 3, 4, 15, 16, 63, 64, 2047, 2048, 6000)] == [0, 1, 1, 2, 2, 3, 3, 4, 6, 6, 7]


def test_subscribers_following_nobody_and_empty_batches(redis_client, tantivy_index):
    graph = Graph(redis_client, "e:")
    redis_client.mset({graph.live_key: 1, GraphKeys("e:", 1).built: 1})  # an empty live generation
    window = Window(TODAY, TODAY + dt.timedelta(days=30))
    strategy = SearchFriendEvents(tantivy_index, graph)
    assert strategy.friend_events([999_999, 999_999], window) == {999_999: {}}
    assert strategy.friend_events([], window) == {}


def test_strategies_by_configuration(make_settings, redis_client, tmp_path):
    graph = Graph(redis_client, "c:")
    for name, kind in (("search", SearchFriendEvents), ("auto", PlannedFriendEvents)):
        strategy = make_friend_strategy(
            make_settings(friends_strategy=name, search_url=f"tantivy://{tmp_path / 'index'}"), graph=graph
        )
        assert isinstance(strategy, kind) and isinstance(strategy, FriendEventsStrategy)


def test_a_class_probed_on_few_subscribers_is_probed_again_for_many():
    costs = CostModel()
    settle(costs, 7, 2, redis=0.05, search=0.02)
    assert costs.cheaper(7, 2) == "search" and costs.cheaper(7, 2 * GROUP_GROWTH - 1) == "search"
    assert costs.cheaper(7, 2 * GROUP_GROWTH) is None
    # One probe on the bigger group settles it again (no second warm-up), its figures
    # replacing the small group's.
    costs.record(7, 2 * GROUP_GROWTH, {"redis": 2 * GROUP_GROWTH * 0.01, "search": 2 * GROUP_GROWTH * 0.02})
    assert costs.cheaper(7, 2 * GROUP_GROWTH) == "redis" and costs.cost("search", 7) == pytest.approx(0.02)


def test_a_near_tie_stays_with_redis():
    """Moving a class to search costs the Redis call what it shared with the rest of the
    batch, which a probe does not see: search takes it only when clearly cheaper."""
    costs = CostModel()
    settle(costs, 5, 4, redis=0.010, search=0.010 * (SEARCH_MARGIN + 0.05))
    settle(costs, 6, 4, redis=0.010, search=0.010 * (SEARCH_MARGIN - 0.05))
    assert (costs.cheaper(5), costs.cheaper(6)) == ("redis", "search")


def test_a_probe_takes_a_bounded_part_of_a_class(redis_client, tantivy_index):
    """The work done twice stays small: a probe takes PROBE_CAP of a numerous class, the
    rest goes by a neighbour's figures (or Redis)."""
    graph = Graph(redis_client, "p:")
    planner = PlannedFriendEvents(RedisFriendEvents(graph), SearchFriendEvents(tantivy_index, graph))
    many = {person: 5 for person in range(1, 3 * PROBE_CAP + 1)}  # class 2
    calls = planner.plan(many)
    assert [(call.strategy, call.probe, len(call.subscriber_ids)) for call in calls] == [
        ("redis", False, 2 * PROBE_CAP), ("redis+search", True, PROBE_CAP)
    ]
    settle(planner.costs, 3, PROBE_CAP, redis=0.010, search=0.001)
    assert [(call.strategy, call.probe) for call in planner.plan(many)] == [("search", False), ("redis+search", True)]
    # Probed on PROBE_CAP, the class is settled for any number of its subscribers.
    settle(planner.costs, 2, PROBE_CAP, redis=0.001, search=0.010)
    assert [(call.strategy, call.probe) for call in planner.plan(many)] == [("redis", False)]


def test_above_a_class_that_goes_to_search_the_bigger_ones_go_too(redis_client, tantivy_index):
    """Search's edge grows with the follow set: a bigger class probed a little the other
    way (a near tie read through noise) does not split the batch."""
    graph = Graph(redis_client, "m:")
    planner = PlannedFriendEvents(RedisFriendEvents(graph), SearchFriendEvents(tantivy_index, graph))
    settle(planner.costs, 2, 8, redis=0.001, search=0.010)
    settle(planner.costs, 6, 8, redis=0.030, search=0.020)
    settle(planner.costs, 7, 8, redis=0.060, search=0.065)
    sizes = {1: 5, 2: 5, 3: 3_000, 4: 3_000, 5: 6_000, 6: 6_000}
    assert {call.strategy: sorted(call.subscriber_ids) for call in planner.plan(sizes)} == {
        "redis": [1, 2], "search": [3, 4, 5, 6]
    }


def probed_classes(graph: Graph, people: list[int]) -> set[int]:
    """The size classes a planner probes on a batch of ``people``: those with two or more."""
    counts = Counter(size_class(len(graph.follows(p))) for p in people)
    return {cls for cls, n in counts.items() if n > 1}


def settled_planner(graph: Graph, index, store: CostStore, people: list[int], window: Window) -> PlannedFriendEvents:
    """A planner that probed ``people``'s classes until settled, keeping its figures in ``store``."""
    planner = PlannedFriendEvents(RedisFriendEvents(graph), SearchFriendEvents(index, graph), store=store)
    for _ in range(WARMUP_PROBES + MEASURED_PROBES):
        planner.friend_events(people, window)
    assert set(store.read()) == probed_classes(graph, people)
    return planner


def test_a_new_planner_starts_with_the_figures_an_earlier_one_kept(seeded, friends_index, make_settings, tmp_path):
    """LANYARD_FRIENDS_STRATEGY=auto keeps settled figures in Redis per engine: a planner
    made later (a new worker, or one after a restart) probes nothing on its first batch."""
    graph, subscribers = seeded
    window = Window(TODAY, TODAY + dt.timedelta(days=30))
    light = [p for p in subscribers if p not in BIG_FOLLOWERS]
    expected = RedisFriendEvents(graph).friend_events(light, window)
    settings = make_settings(friends_strategy="auto", search_url=f"tantivy://{tmp_path / 'search'}")
    first = make_friend_strategy(settings, graph=graph)
    assert isinstance(first, PlannedFriendEvents) and first.store is not None
    for _ in range(WARMUP_PROBES + MEASURED_PROBES):
        assert first.friend_events(light, window) == expected
    probed = probed_classes(graph, light)
    assert probed and set(first.store.read()) == probed

    later = make_friend_strategy(settings, graph=graph)
    assert isinstance(later, PlannedFriendEvents) and later.costs.probes == Counter()
    assert later.friend_events(light, window) == expected
    assert first.probed > 0 and later.probed == 0
    # Settled by the kept figures, not by probes of its own (each would have counted one).
    assert {cls: later.costs.probes[cls] for cls in probed} == dict.fromkeys(probed, WARMUP_PROBES + MEASURED_PROBES)
    assert {cls: later.costs.probed_time[cls] for cls in probed} == {
        cls: first.costs.probed_time[cls] for cls in probed
    }
    assert {cls: later.costs.cheaper(cls) for cls in probed} == {cls: first.costs.cheaper(cls) for cls in probed}
    assert not any(call.probe for call in later.plan(later.follow_set_sizes(light)))
    # Another engine has figures of its own.
    other = make_friend_strategy(make_settings(friends_strategy="auto", search_url=f"tantivy://{tmp_path / 'other'}"),
                                 graph=graph)
    assert isinstance(other, PlannedFriendEvents) and other.store is not None and other.store.read() == {}


def test_a_class_another_planner_probed_lately_is_not_probed_again(seeded, friends_index, redis_client):
    """When a class's PROBE_EVERY batches have passed, a planner first reads the store: a
    figure another worker wrote since its own probe stands for the probe."""
    graph, subscribers = seeded
    window = Window(TODAY, TODAY + dt.timedelta(days=30))
    light = [p for p in subscribers if p not in BIG_FOLLOWERS]
    store = CostStore.for_engine(redis_client, "s:", friends_index, strategies=STRATEGY_NAMES)
    one = settled_planner(graph, friends_index, store, light, window)
    other = settled_planner(graph, friends_index, store, light, window)  # settled by ``one``'s figures
    probed = probed_classes(graph, light)
    for cls in probed:
        other.costs.batches[cls] += PROBE_EVERY
    other.friend_events(light, window)  # re-probed: nobody probed since
    assert {cls: other.costs.probes[cls] for cls in probed} == dict.fromkeys(
        probed, WARMUP_PROBES + MEASURED_PROBES + 1
    )
    for cls in probed:
        one.costs.batches[cls] += PROBE_EVERY
    assert all(call.probe for call in one.plan(one.follow_set_sizes(light)))
    probed_before = one.probed
    one.friend_events(light, window)
    assert one.probed == probed_before
    assert {cls: one.costs.probes[cls] for cls in probed} == dict.fromkeys(probed, WARMUP_PROBES + MEASURED_PROBES)
    assert {cls: one.costs.probed_time[cls] for cls in probed} == {cls: other.costs.probed_time[cls] for cls in probed}


def test_figures_past_their_age_are_probed_again(seeded, friends_index, redis_client, caplog):
    graph, subscribers = seeded
    window = Window(TODAY, TODAY + dt.timedelta(days=30))
    light = [p for p in subscribers if p not in BIG_FOLLOWERS]
    now = [time.time()]
    store = CostStore.for_engine(redis_client, "s:", friends_index, strategies=STRATEGY_NAMES)
    store.clock = lambda: now[0]
    planner = PlannedFriendEvents(RedisFriendEvents(graph), SearchFriendEvents(friends_index, graph),
                                  costs=CostModel(clock=lambda: now[0]), store=store)
    for _ in range(WARMUP_PROBES + MEASURED_PROBES):
        planner.friend_events(light, window)
    probed = probed_classes(graph, light)
    assert all(planner.costs.settled(cls) for cls in probed)

    now[0] += FIGURES_MAX_AGE + 1
    # Neither this planner's figures nor the kept ones count: one probe per class, kept again.
    assert not any(planner.costs.settled(cls) for cls in probed)
    with caplog.at_level(logging.INFO, logger="lanyard.search"):
        planner.friend_events(light, window)
    assert {cls: planner.costs.probes[cls] for cls in probed} == dict.fromkeys(
        probed, WARMUP_PROBES + MEASURED_PROBES + 1
    )
    assert sum("older than" in record.getMessage() for record in caplog.records) == len(probed)
    assert {cls: figures.at for cls, figures in store.read().items()} == dict.fromkeys(probed, now[0])
    # A new planner reading figures that old probes from the start.
    fresh = PlannedFriendEvents(RedisFriendEvents(graph), SearchFriendEvents(friends_index, graph), store=store)
    store.clock = lambda: now[0] + FIGURES_MAX_AGE + 1
    fresh.friend_events(light, window)
    assert {cls: fresh.costs.probes[cls] for cls in probed} == dict.fromkeys(probed, 1)


def test_unreadable_figures_are_ignored_then_replaced(seeded, friends_index, redis_client, caplog):
    graph, subscribers = seeded
    window = Window(TODAY, TODAY + dt.timedelta(days=30))
    light = [p for p in subscribers if p not in BIG_FOLLOWERS]
    expected = RedisFriendEvents(graph).friend_events(light, window)
    store = CostStore.for_engine(redis_client, "s:", friends_index, strategies=STRATEGY_NAMES)
    probed = probed_classes(graph, light)
    redis_client.hset(store.key, mapping={str(cls): '{"v": 1, "seconds": "fast"}' for cls in probed})
    planner = PlannedFriendEvents(RedisFriendEvents(graph), SearchFriendEvents(friends_index, graph), store=store)
    with caplog.at_level(logging.WARNING, logger="lanyard.search"):
        assert planner.friend_events(light, window) == expected
    assert {cls: planner.costs.probes[cls] for cls in probed} == dict.fromkeys(probed, 1)
    assert sum("ignored the figures" in record.getMessage() for record in caplog.records) == len(probed)
    for _ in range(WARMUP_PROBES + MEASURED_PROBES - 1):
        assert planner.friend_events(light, window) == expected
    assert set(store.read()) == probed  # settled, written over


def test_with_redis_away_the_planner_probes_and_answers(seeded, friends_index, tmp_path, caplog):
    """The figures' Redis away: the planner reads nothing, probes, loses its figures with a
    log line, and every batch is answered; back with its data, a new planner starts settled."""
    graph, subscribers = seeded
    window = Window(TODAY, TODAY + dt.timedelta(days=30))
    light = [p for p in subscribers if p not in BIG_FOLLOWERS]
    expected = RedisFriendEvents(graph).friend_events(light, window)
    probed = probed_classes(graph, light)
    server = RedisServer(tmp_path / "figures")
    server.start()
    try:
        client = redis.Redis.from_url(server.url())
        store = CostStore.for_engine(client, "s:", friends_index, strategies=STRATEGY_NAMES)
        settled_planner(graph, friends_index, store, light, window)
        server.stop()
        planner = PlannedFriendEvents(RedisFriendEvents(graph), SearchFriendEvents(friends_index, graph),
                                      store=CostStore(client, store.key, strategies=STRATEGY_NAMES))
        with caplog.at_level(logging.WARNING, logger="lanyard.search"):
            for _ in range(WARMUP_PROBES + MEASURED_PROBES):
                assert planner.friend_events(light, window) == expected
        assert {cls: planner.costs.probes[cls] for cls in probed} == dict.fromkeys(
            probed, WARMUP_PROBES + MEASURED_PROBES
        )
        messages = [record.getMessage() for record in caplog.records]
        assert any("could not read" in m for m in messages) and any("could not keep" in m for m in messages)
        server.start()
        again = PlannedFriendEvents(RedisFriendEvents(graph), SearchFriendEvents(friends_index, graph),
                                    store=CostStore(client, store.key, strategies=STRATEGY_NAMES))
        assert again.friend_events(light, window) == expected
        assert planner.probed > 0 and again.probed == 0
        assert {cls: again.costs.probes[cls] for cls in probed} == dict.fromkeys(
            probed, WARMUP_PROBES + MEASURED_PROBES
        )
        client.close()
    finally:
        server.stop()
