"""The search-backed friend events and the planner give exactly the Redis strategy's
answer, on seeded data (SQLite and PostgreSQL), including subscribers who follow more
people than one OR query takes."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import select

from digest.demo.seed import SeedPlan, seed
from digest.graph.store import Graph
from digest.graph.sync import rebuild as rebuild_graph
from digest.nightly.friends import FriendEventsStrategy, RedisFriendEvents, make_friend_strategy
from digest.search.friends import (
    GROUP_GROWTH,
    RECENT_FIGURES,
    REMEASURE_BATCHES,
    STRATEGY_NAMES,
    WARMUP_CALLS,
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
    assert all(expected[p] for p in BIG_FOLLOWERS)
    assert sum(len(events) for events in expected.values()) > 100  # the data exercises something
    assert {"speaking", "attending"} <= {
        role for events in expected.values() for people in events.values() for role in people.values()
    }
    # Nothing measured yet: every size class of the batch was split between the two to
    # measure both, and the run's note says both ran.
    assert planner.usage["search"] > 0 and planner.usage["redis"] > 0
    assert planner.name == "auto:redis+search"
    classes = {size_class(len(graph.follows(p))) for p in subscribers}
    assert all(planner.costs.cost(name, cls) is not None for name in STRATEGY_NAMES for cls in classes)
    # Once every class is measured past its warm-up (a few batches: a class of one
    # subscriber measures one strategy per batch), each batch goes, per class, to what
    # measured cheaper, in one call per strategy, with the same answer.
    for _ in range(2 * (WARMUP_CALLS + 1)):
        assert planner.friend_events(subscribers, window) == expected
    calls = planner.plan(planner.follow_set_sizes(subscribers))
    assert len(calls) == len({call.strategy for call in calls})
    for call in calls:
        assert all(
            planner.costs.cheaper(size_class(len(graph.follows(p)))) == call.strategy for p in call.subscriber_ids
        )


def test_planner_follows_measured_costs(seeded, friends_index):
    graph, subscribers = seeded
    big_class = size_class(len(graph.follows(BIG_FOLLOWERS[0])))
    costs = CostModel()
    planner = PlannedFriendEvents(RedisFriendEvents(graph), SearchFriendEvents(friends_index, graph), costs=costs)
    classes = {size_class(len(graph.follows(p))) for p in subscribers}
    # Measured: search cheap for the big class only.
    for _ in range(WARMUP_CALLS + 1):  # the first call of each only warms it up
        for cls in classes:
            costs.record("redis", Counter({cls: 10}), 0.010 if cls != big_class else 1.0)
            costs.record("search", Counter({cls: 10}), 0.100 if cls != big_class else 0.1)
    assert costs.cost("redis", big_class) == pytest.approx(0.1)  # the warm-up's figure replaced, not averaged
    by_strategy = {
        call.strategy: set(call.subscriber_ids) for call in planner.plan(planner.follow_set_sizes(subscribers))
    }
    assert by_strategy["search"] == set(BIG_FOLLOWERS)
    assert by_strategy["redis"] == set(subscribers) - set(BIG_FOLLOWERS)

    window = Window(TODAY, TODAY + dt.timedelta(days=30))
    planner.friend_events([p for p in subscribers if p not in BIG_FOLLOWERS], window)
    assert planner.name == "auto:redis"
    planner.friend_events(list(BIG_FOLLOWERS), window)
    assert planner.name == "auto:search"

    # The machine changes: search turns slow for the big class. A call on one class moves
    # the running mean halfway; choices go by the best recent figure, so one slow call
    # (a load spike) changes nothing and RECENT_FIGURES of them change the choice.
    old = costs.cost("search", big_class)
    costs.record("search", Counter({big_class: 2}), 2 * 5.0)
    assert costs.cost("search", big_class) == pytest.approx(old + 0.5 * (5.0 - old))
    big = planner.follow_set_sizes(list(BIG_FOLLOWERS))
    assert {call.strategy for call in planner.plan(big)} == {"search"}
    for _ in range(RECENT_FIGURES - 1):
        costs.record("search", Counter({big_class: 2}), 2 * 5.0)
    assert {call.strategy for call in planner.plan(big)} == {"redis"}
    before = {cls: costs.cost("redis", cls) for cls in classes}
    counts = Counter(size_class(len(graph.follows(p))) for p in subscribers)
    predicted = sum(before[cls] * n for cls, n in counts.items())
    costs.record("redis", counts, predicted * 3)
    for cls in classes:
        assert costs.cost("redis", cls) == pytest.approx(before[cls] * 2)  # halfway to 3x

    # A measurement goes stale after REMEASURE_BATCHES batches of its class: the class is
    # split again so the unused strategy is measured again.
    for cls in classes:
        costs.batches[cls] += REMEASURE_BATCHES
    calls = planner.plan(planner.follow_set_sizes(list(BIG_FOLLOWERS)))
    assert sorted((call.strategy, len(call.subscriber_ids)) for call in calls) == [("redis", 1), ("search", 1)]


def test_planner_borrows_a_neighbouring_class(seeded, friends_index):
    graph, _ = seeded
    big_class = size_class(len(graph.follows(BIG_FOLLOWERS[0])))
    costs = CostModel()
    for _ in range(WARMUP_CALLS + 1):
        costs.record("redis", Counter({big_class - 1: 4}), 4.0)
        costs.record("search", Counter({big_class - 1: 4}), 0.4)
    planner = PlannedFriendEvents(RedisFriendEvents(graph), SearchFriendEvents(friends_index, graph), costs=costs)
    # Nothing measured for the big class itself: the class below it decides, no split.
    assert [
        (call.strategy, sorted(call.subscriber_ids))
        for call in planner.plan(planner.follow_set_sizes(list(BIG_FOLLOWERS)))
    ] == [("search", sorted(BIG_FOLLOWERS))]
    assert costs.cheaper(big_class + 2) is None


def test_planner_measures_what_a_lone_subscriber_left_unmeasured(seeded, friends_index):
    graph, _ = seeded
    big_class = size_class(len(graph.follows(BIG_FOLLOWERS[0])))
    planner = PlannedFriendEvents(RedisFriendEvents(graph), SearchFriendEvents(friends_index, graph))
    window = Window(TODAY, TODAY + dt.timedelta(days=30))
    planner.friend_events(BIG_FOLLOWERS[:1], window)  # alone in its class: one strategy measured
    measured = [name for name in STRATEGY_NAMES if planner.costs.cost(name, big_class) is not None]
    assert len(measured) == 1
    calls = planner.plan(planner.follow_set_sizes(list(BIG_FOLLOWERS)))
    assert sorted((call.strategy, len(call.subscriber_ids)) for call in calls) == [("redis", 1), ("search", 1)]
    planner.friend_events(list(BIG_FOLLOWERS), window)
    assert all(planner.costs.cost(name, big_class) is not None for name in STRATEGY_NAMES)


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
    settings = make_settings(search_url=f"tantivy://{tmp_path / 'index'}")
    for name, kind in (("search", SearchFriendEvents), ("auto", PlannedFriendEvents)):
        strategy = make_friend_strategy(
            make_settings(friends_strategy=name, search_url=f"tantivy://{tmp_path / 'index'}"), graph=graph
        )
        assert isinstance(strategy, kind) and isinstance(strategy, FriendEventsStrategy)
    assert make_friend_strategy(settings, graph=graph, name="auto", threshold=5).threshold == 5


def test_a_figure_from_few_subscribers_is_taken_again_for_many():
    costs = CostModel()
    for _ in range(WARMUP_CALLS + 1):
        costs.record("redis", Counter({7: 1}), 0.05)
        costs.record("search", Counter({7: 1}), 0.02)
    assert costs.cheaper(7, 1) == "search" and costs.cheaper(7, GROUP_GROWTH - 1) == "search"
    assert costs.cheaper(7, GROUP_GROWTH) is None and costs.stale("redis", 7, GROUP_GROWTH)
    costs.restart("redis", 7)  # measured again from a warm-up: the next call alone is not trusted
    costs.record("redis", Counter({7: GROUP_GROWTH}), GROUP_GROWTH * 0.01)
    assert costs.stale("redis", 7)
    costs.record("redis", Counter({7: GROUP_GROWTH}), GROUP_GROWTH * 0.01)
    assert not costs.stale("redis", 7, GROUP_GROWTH) and costs.cost("redis", 7) == pytest.approx(0.01)
