"""The Django-free ops state: flags, read-only, live settings, profiles, on real Redis and databases."""

from __future__ import annotations

import json

import pytest
import redis
from sqlalchemy import select, text

from digest.ops.flags import (
    FLAGS,
    FlagError,
    FlagSet,
    Visitor,
    flag_set,
    flags_get,
    parse_rule,
)
from digest.ops.live import OpsSettingGroup, Registry, SettingError
from digest.ops.readonly import (
    ReadOnlyError,
    install_sqlalchemy_guard,
    read_only_get,
    read_only_set,
    writes_refused,
)
from digest.ops.snapshot import ops_snapshot
from digest.runs.runtime import ScheduleSettingGroup, schedule_get
from digest.stores import db
from digest.stores.keys import RedisKeys
from digest.stores.profile import (
    Kind,
    ProfiledRedis,
    Recorder,
    install_sqlalchemy_hooks,
    profile_load,
    profile_save,
    recording,
    span,
)

PREFIX = "t12:"


def clients(any_redis) -> ProfiledRedis:
    return ProfiledRedis(connection_pool=any_redis.connection_pool)


# -- flags --------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["percent=150", "percent=-1", "percent=x", "people=", "sometimes", "everyone=1"])
def test_bad_conditions_are_refused(bad):
    with pytest.raises(FlagError):
        parse_rule(bad)


def test_conditions_admit_whom_they_say():
    ada = Visitor(person_id=7, handle="ada")
    staff = Visitor(person_id=8, handle="sam", is_staff=True)
    root = Visitor(person_id=9, handle="root", is_superuser=True)
    anonymous = Visitor()
    cases = {
        "everyone": {ada, staff, root, anonymous},
        "nobody": set(),
        "staff": {staff, root},
        "superusers": {root},
        "people=ADA,@grace": {ada},
    }
    for condition, admitted in cases.items():
        rules = {"search": parse_rule(condition)}
        for visitor in (ada, staff, root, anonymous):
            assert FlagSet(rules, visitor).active("search") is (visitor in admitted), (condition, visitor)


def test_percent_is_stable_per_person_and_near_its_share():
    rules = {"search": parse_rule("percent=30")}
    answers = [FlagSet(rules, Visitor(person_id=i)).active("search") for i in range(1, 5001)]
    again = [FlagSet(rules, Visitor(person_id=i)).active("search") for i in range(1, 5001)]
    assert answers == again
    assert 0.27 < sum(answers) / len(answers) < 0.33
    assert not FlagSet(rules, Visitor()).active("search")  # anonymous visitors are outside a percentage


def test_the_visitor_is_made_once_and_only_when_a_rule_needs_it():
    made = []

    def visitor():
        made.append(1)
        return Visitor(person_id=1, is_staff=True)

    flags = FlagSet(
        {"search": parse_rule("everyone"), "link_pasting": parse_rule("staff"), "calendar_feed": parse_rule("staff")},
        visitor,
    )
    assert flags.active("search") and made == []
    assert flags.active("link_pasting") and flags.active("calendar_feed") and made == [1]
    with pytest.raises(FlagError):
        flags.active("no_such_flag")


def test_flags_are_stored_and_unknown_names_change_nothing(any_redis):
    r = clients(any_redis)
    assert {name: str(rule) for name, rule in flags_get(r, prefix=PREFIX).items()} == {
        n: f.default for n, f in FLAGS.items()
    }
    old, new = flag_set(r, prefix=PREFIX, name="search", condition="percent=25")
    assert (str(old), str(new)) == ("everyone", "percent=25")
    assert str(flags_get(r, prefix=PREFIX)["search"]) == "percent=25"
    for name, condition in (("serch", "nobody"), ("search", "percent=150")):
        with pytest.raises(FlagError):
            flag_set(r, prefix=PREFIX, name=name, condition=condition)
    assert any_redis.hgetall(RedisKeys(PREFIX).ops_flags) == {b"search": b"percent=25"}


def test_an_unreachable_flag_store_gives_the_defaults():
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    assert {name: str(rule) for name, rule in flags_get(dead, prefix=PREFIX).items()} == {
        n: f.default for n, f in FLAGS.items()
    }
    assert not read_only_get(dead, prefix=PREFIX).on


# -- read-only ----------------------------------------------------------------------------


def test_read_only_switch(any_redis):
    assert not read_only_get(any_redis, prefix=PREFIX).on
    state = read_only_set(any_redis, prefix=PREFIX, on=True, message="Upgrading, back at 10", by="cli:ops")
    assert read_only_get(any_redis, prefix=PREFIX) == state and state.message == "Upgrading, back at 10"
    assert read_only_set(any_redis, prefix=PREFIX, on=True).message  # a default message when none is given
    read_only_set(any_redis, prefix=PREFIX, on=False)
    assert not read_only_get(any_redis, prefix=PREFIX).on


def test_writes_are_refused_at_the_connection_inside_a_read_only_block(engine):
    install_sqlalchemy_guard()
    with writes_refused():
        with engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar_one() == 1
        with pytest.raises(ReadOnlyError), engine.begin() as connection:
            connection.execute(
                db.ops_change.insert().values(
                    name="x",
                    old_value="1",
                    new_value="2",
                    changed_by="t",
                    via="cli",
                    changed_at=text("CURRENT_TIMESTAMP"),
                )
            )
    with engine.connect() as connection:
        assert connection.execute(select(db.ops_change)).all() == []  # nothing half-written


# -- live settings ------------------------------------------------------------------------


def registry(r):
    return Registry([OpsSettingGroup(r, prefix=PREFIX), ScheduleSettingGroup()])


def test_live_settings_are_typed_checked_stored_and_audited(engine, any_redis):
    r = clients(any_redis)
    reg = registry(r)
    current = reg.current(engine)
    assert current["profile_sample_rate"] == 0.0 and current["chunk_size"] == 500 and current["site_banner"] == ""
    done = reg.set(
        engine,
        {"site_banner": " Maintenance at 22:00 ", "profile_sample_rate": "0.25", "chunk_size": "200"},
        changed_by="cli:ops",
        via="cli",
    )
    assert done == {
        "site_banner": ("", "Maintenance at 22:00"),
        "profile_sample_rate": (0.0, 0.25),
        "chunk_size": (500, 200),
    }
    assert schedule_get(engine).chunk_size == 200
    with engine.connect() as connection:
        rows = connection.execute(select(db.ops_change).order_by(db.ops_change.c.id)).mappings().all()
    assert [(row["name"], json.loads(row["new_value"]), row["changed_by"], row["via"]) for row in rows] == [
        ("site_banner", "Maintenance at 22:00", "cli:ops", "cli"),
        ("profile_sample_rate", 0.25, "cli:ops", "cli"),
        ("chunk_size", 200, "cli:ops", "cli"),
    ]
    snapshot = ops_snapshot(r, engine, prefix=PREFIX)
    assert (
        snapshot.settings["site_banner"] == "Maintenance at 22:00" and snapshot.settings["profile_sample_rate"] == 0.25
    )


@pytest.mark.parametrize(
    "changes, says",
    [
        ({"site_banner": "ok", "profile_sample_rate": "1.5"}, "between 0 and 1"),
        ({"site_banner": "ok", "cache_timeout_event": "ten"}, "whole number"),
        ({"site_banner": "ok", "no_such": "1"}, "unknown setting"),
        ({"site_banner": "ok", "lists": "monthly"}, "unknown list"),
        ({"site_banner": "x" * 301}, "at most 300"),
    ],
)
def test_one_bad_value_changes_nothing(engine, any_redis, changes, says):
    reg = registry(clients(any_redis))
    with pytest.raises(SettingError, match=says):
        reg.set(engine, changes, changed_by="t", via="cli")
    assert reg.current(engine)["site_banner"] == ""
    with engine.connect() as connection:
        assert connection.execute(select(db.ops_change)).all() == []


def test_the_redis_copy_is_rebuilt_from_the_database(engine, any_redis):
    r = clients(any_redis)
    registry(r).set(engine, {"cache_timeout_event": "30"}, changed_by="t", via="cli")
    any_redis.delete(RedisKeys(PREFIX).ops_settings)  # a Redis restarted empty
    assert ops_snapshot(r, engine, prefix=PREFIX).settings["cache_timeout_event"] == 30
    assert any_redis.hexists(RedisKeys(PREFIX).ops_settings, "__loaded__")


def test_the_snapshot_is_one_round_trip_and_survives_redis_being_away(engine, any_redis):
    r = clients(any_redis)
    read_only_set(r, prefix=PREFIX, on=True, message="m")
    ops_snapshot(r, engine, prefix=PREFIX)  # loads the settings copy
    recorder = Recorder(name="test")
    with recording(recorder):
        snapshot = ops_snapshot(r, engine, prefix=PREFIX)
    assert snapshot.read_only.on and snapshot.reachable
    assert [e["kind"] for e in recorder.events] == ["redis"] and recorder.events[0]["label"].startswith("pipeline of 3")
    dead = ProfiledRedis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    away = ops_snapshot(dead, engine, prefix=PREFIX)
    assert not away.reachable and not away.read_only.on and away.settings["profile_sample_rate"] == 0.0



def test_the_same_ops_state_gives_the_same_parsed_snapshot_and_a_change_a_new_one(engine, any_redis):
    r = clients(any_redis)
    ops_snapshot(r, engine, prefix=PREFIX)  # loads the settings copy
    first = ops_snapshot(r, engine, prefix=PREFIX)
    assert ops_snapshot(r, engine, prefix=PREFIX) is first  # not parsed again
    with pytest.raises(TypeError):
        first.settings["site_banner"] = "shared by every request: read-only"  # type: ignore[index]
    flag_set(r, prefix=PREFIX, name="search", condition="nobody")
    registry(r).set(engine, {"site_banner": "Back at 22:00"}, changed_by="t", via="cli")
    changed = ops_snapshot(r, engine, prefix=PREFIX)
    assert changed is not first
    assert changed.settings["site_banner"] == "Back at 22:00" and not changed.flags(Visitor()).active("search")
    assert first.settings["site_banner"] == "" and first.flags(Visitor()).active("search")
    read_only_set(r, prefix=PREFIX, on=True, message="m")
    assert ops_snapshot(r, engine, prefix=PREFIX).read_only.on


# -- profiles -----------------------------------------------------------------------------


def test_a_profile_records_sql_redis_and_spans_and_lives_five_minutes(engine, any_redis):
    install_sqlalchemy_hooks()
    r = clients(any_redis)
    recorder = Recorder(name="GET /x")
    with recording(recorder):
        with engine.connect() as connection:
            connection.execute(text("SELECT 42"))
        r.set("t12:k", "v")
        with span(Kind.SEARCH, "events with 3 people"):
            pass
    r.set("t12:outside", "not recorded")
    kinds = [(e["kind"], e["label"]) for e in recorder.events]
    assert (
        ("sql", "SELECT 42") in kinds
        and ("redis", "SET t12:k") in kinds
        and ("search", "events with 3 people") in kinds
    )
    assert not any("outside" in label for _, label in kinds)
    profile = recorder.finish(status=200)
    profile_save(r, prefix=PREFIX, profile=profile)
    assert 290 <= any_redis.ttl(RedisKeys(PREFIX).profile(profile["id"])) <= 300
    loaded = profile_load(r, prefix=PREFIX, profile_id=profile["id"])
    assert loaded["name"] == "GET /x" and loaded["summary"]["sql"]["count"] >= 1
    assert profile_load(r, prefix=PREFIX, profile_id="not-a-uuid") is None
    assert profile_load(r, prefix=PREFIX, profile_id="00000000-0000-4000-8000-000000000000") is None
