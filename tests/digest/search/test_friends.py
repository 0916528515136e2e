"""The search-backed friend events and the planner give exactly the Redis strategy's
answer, on seeded data (SQLite and PostgreSQL), including subscribers who follow more
people than one OR query takes."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from digest import db
from digest.friends import FriendEventsStrategy, RedisFriendEvents, make_friend_strategy
from digest.graph import Graph
from digest.graph_sync import rebuild as rebuild_graph
from digest.keys import GraphKeys, RedisKeys
from digest.search.friends import PlannedFriendEvents, SearchFriendEvents
from digest.search.index import MAX_CLAUSES
from digest.search.sync import rebuild as rebuild_search
from digest.seed import seed
from digest.values import Window

TODAY = dt.date(2026, 12, 1)
BIG_FOLLOWERS = (1, 2)  # made to follow more than MAX_CLAUSES people


@pytest.fixture
def seeded(engine, redis_client, tantivy_index):
    seed(engine, people=2_600, events=150, subscribers=40, seed=5, today=TODAY)
    with engine.begin() as connection:
        f = db.follow
        connection.execute(f.delete().where(f.c.follower_id.in_(BIG_FOLLOWERS)))
        for follower in BIG_FOLLOWERS:
            followees = [p for p in range(1, 2_600) if p != follower and (p + follower) % 13]  # ~2,400 people
            db.bulk_insert(connection, f, [{"follower_id": follower, "followee_id": p, "created_at": dt.datetime(2026, 1, 1)} for p in followees],
                           ["follower_id", "followee_id", "created_at"])
        subscribers = sorted(set(connection.execute(select(db.subscription.c.person_id)).scalars()) | set(BIG_FOLLOWERS))
    graph = Graph(redis_client, "s:")
    rebuild_graph(graph, engine)
    rebuild_search(tantivy_index, engine, redis_client, RedisKeys("s:"))
    return graph, subscribers


def test_search_and_planner_agree_with_redis(seeded, tantivy_index):
    graph, subscribers = seeded
    assert all(len(graph.follows(p)) > MAX_CLAUSES for p in BIG_FOLLOWERS)
    window = Window(TODAY, TODAY + dt.timedelta(days=90))

    expected = RedisFriendEvents(graph).friend_events(subscribers, window)
    by_search = SearchFriendEvents(tantivy_index, graph).friend_events(subscribers, window)
    planner = PlannedFriendEvents(RedisFriendEvents(graph), SearchFriendEvents(tantivy_index, graph), threshold=100)
    planned = planner.friend_events(subscribers, window)

    assert by_search == expected
    assert planned == expected
    assert all(expected[p] for p in BIG_FOLLOWERS)
    assert sum(len(events) for events in expected.values()) > 100  # the data exercises something
    assert {"speaking", "attending"} <= {role for events in expected.values() for people in events.values() for role in people.values()}
    # Both strategies ran, and the run's note says so.
    assert planner.usage["search"] >= len(BIG_FOLLOWERS) and planner.usage["redis"] > 0
    assert planner.name == "auto:redis+search"

    # By size: a threshold of MAX_CLAUSES sends exactly the big follow sets to search.
    planner = PlannedFriendEvents(RedisFriendEvents(graph), SearchFriendEvents(tantivy_index, graph), threshold=MAX_CLAUSES)
    plan = planner.plan(subscribers)
    assert set(plan["search"]) == set(BIG_FOLLOWERS)
    assert set(plan["redis"]) == set(subscribers) - set(BIG_FOLLOWERS)
    window = Window(TODAY, TODAY + dt.timedelta(days=30))
    planner.friend_events([p for p in subscribers if p not in BIG_FOLLOWERS], window)
    assert planner.name == "auto:redis"
    planner.friend_events(list(BIG_FOLLOWERS), window)
    assert planner.name == "auto:search"


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
        strategy = make_friend_strategy(make_settings(friends_strategy=name, search_url=f"tantivy://{tmp_path / 'index'}"), graph=graph)
        assert isinstance(strategy, kind) and isinstance(strategy, FriendEventsStrategy)
    assert make_friend_strategy(settings, graph=graph, name="auto", threshold=5).threshold == 5
