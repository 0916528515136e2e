"""The runtime schedule in the database (digest/runs/runtime.py), and the tick period."""

import datetime as dt

import pytest
from sqlalchemy import update

from digest.runs.runtime import Schedule, ScheduleError, schedule_claim_tick, schedule_get, schedule_set
from digest.stores import db

UTC = dt.UTC


def test_defaults_until_set_then_stored(engine):
    assert schedule_get(engine) == Schedule()
    stored = schedule_set(engine, paused="yes", lists="daily", weekly_day="fri", rate_limit="25", default_send_hour=9)
    assert stored == schedule_get(engine)
    assert (stored.paused, stored.lists, stored.weekly_day, stored.rate_limit, stored.default_send_hour) == (
        True,
        ("daily",),
        4,
        25,
        9,
    )
    assert schedule_set(engine, paused=False).lists == ("daily",)  # other settings kept


@pytest.mark.parametrize("changes, message", [
    ({"default_send_hour": "24"}, "between 0 and 23"),
    ({"lists": "daily,monthly"}, "unknown list"),
    ({"paused": "maybe"}, "true or false"),
    ({"tick_seconds": "soon"}, "whole number"),
    ({"weekly_day": "someday"}, "weekday"),
    ({"colour": "blue"}, "unknown schedule setting"),
])
def test_bad_values_are_refused_and_change_nothing(engine, changes, message):
    schedule_set(engine, rate_limit=5)
    with pytest.raises(ScheduleError, match=message):
        schedule_set(engine, **changes)
    assert schedule_get(engine) == Schedule(rate_limit=5)


def test_one_tick_per_period_however_often_beat_fires(engine):
    start = dt.datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    assert schedule_claim_tick(engine, now=start, tick_seconds=300)
    assert not schedule_claim_tick(engine, now=start + dt.timedelta(seconds=30), tick_seconds=300)
    assert not schedule_claim_tick(engine, now=start + dt.timedelta(seconds=240), tick_seconds=300)
    assert schedule_claim_tick(engine, now=start + dt.timedelta(seconds=300), tick_seconds=300)
    # A shorter period set at run time applies from the next beat on.
    schedule_set(engine, tick_seconds=60)
    assert schedule_claim_tick(
        engine, now=start + dt.timedelta(seconds=360), tick_seconds=schedule_get(engine).tick_seconds
    )


def test_the_schedule_row_is_what_the_admin_edits(engine):
    schedule_set(engine, chunk_size=50)
    with engine.begin() as connection:
        connection.execute(update(db.schedule).values(paused=True, default_send_hour=6))
    assert schedule_get(engine) == Schedule(chunk_size=50, paused=True, default_send_hour=6)
