"""The local-time due rule across daylight-saving changes (pure functions, no waiting)."""

import datetime as dt

import pytest

from digest.runs.due import Candidate, DueRule, candidate_dates, due_by_date, due_date

UTC = dt.UTC


def simulate(candidates, start, end, *, step=dt.timedelta(minutes=5), default_send_hour=7):
    """Tick every ``step`` from ``start`` to ``end``; record when each digest is planned.

    The ledger is modelled as the set of (subscription, date) pairs already planned,
    exactly what the real tick excludes.
    """
    ledger: dict[tuple[int, dt.date], dt.datetime] = {}
    now = start
    while now < end:
        groups = due_by_date(candidates, now, rule=DueRule(default_send_hour, ["daily"]), exclude=set(ledger))
        for (_list, date), ids in groups.items():
            for sid in ids:
                assert (sid, date) not in ledger
                ledger[(sid, date)] = now
        now += step
    return ledger


@pytest.mark.parametrize(
    "timezone, change_day",
    [
        ("Europe/London", dt.date(2026, 3, 29)),  # spring forward: 01:00 → 02:00
        ("America/New_York", dt.date(2026, 3, 8)),  # spring forward: 02:00 → 03:00
        ("Europe/London", dt.date(2026, 10, 25)),  # fall back: 02:00 → 01:00, one hour twice
        ("America/New_York", dt.date(2026, 11, 1)),  # fall back: 02:00 → 01:00
        ("Australia/Sydney", dt.date(2026, 4, 5)),  # fall back in the southern hemisphere
        ("Australia/Sydney", dt.date(2026, 10, 4)),  # spring forward: 02:00 → 03:00
    ],
)
def test_every_hour_gets_one_digest_a_day_across_a_dst_change(timezone, change_day):
    # One subscriber per send hour, including the hours that are skipped or repeated.
    candidates = [Candidate(hour + 1, "daily", hour, timezone) for hour in range(24)]
    start = dt.datetime.combine(change_day - dt.timedelta(days=2), dt.time(12), UTC)
    end = dt.datetime.combine(change_day + dt.timedelta(days=2), dt.time(12), UTC)
    planned = simulate(candidates, start, end)
    days = [change_day - dt.timedelta(days=1), change_day, change_day + dt.timedelta(days=1)]
    for sid in range(1, 25):
        for day in days:
            assert (sid, day) in planned, f"send hour {sid - 1} skipped on {day}"
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(timezone)
    for (sid, day), at in planned.items():
        local = at.astimezone(zone)
        assert local.date() == day  # planned on its own local date
        if day in days:
            # ... at the first tick at or after the send hour in local wall-clock time
            # (at the jump, when that hour does not exist that day), not an hour off.
            assert local.hour >= sid - 1
            assert due_date(at - dt.timedelta(minutes=5), timezone=timezone, send_hour=sid - 1) != day
            assert (local.hour, local.minute) <= (sid, 0) or local.dst() != (at - dt.timedelta(hours=2)).astimezone(
                zone
            ).dst()
    per_day = {}
    for sid, day in planned:
        per_day.setdefault(day, []).append(sid)
    for day in days:
        assert sorted(per_day[day]) == list(range(1, 25))  # each exactly once that day


def test_the_repeated_hour_of_a_fall_back_sends_once():
    # London, 25 Oct 2026: 01:00-02:00 happens twice (BST, then GMT).
    candidates = [Candidate(1, "daily", 1, "Europe/London")]
    first = dt.datetime(2026, 10, 25, 0, 0, tzinfo=UTC)  # 01:00 BST
    second = dt.datetime(2026, 10, 25, 1, 0, tzinfo=UTC)  # 01:00 GMT
    assert due_date(first, timezone="Europe/London", send_hour=1) == dt.date(2026, 10, 25)
    assert due_date(second, timezone="Europe/London", send_hour=1) == dt.date(2026, 10, 25)
    exclude = {(1, dt.date(2026, 10, 25))}
    assert due_by_date(candidates, second, rule=DueRule(7, ["daily"]), exclude=exclude) == {}


def test_the_skipped_hour_of_a_spring_forward_sends_at_the_jump():
    # New York, 8 Mar 2026: 02:00 EST jumps to 03:00 EDT; a 02:00 subscriber goes at 03:00.
    before = dt.datetime(2026, 3, 8, 6, 55, tzinfo=UTC)  # 01:55 EST
    after = dt.datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # 03:00 EDT
    assert due_date(before, timezone="America/New_York", send_hour=2) is None
    assert due_date(after, timezone="America/New_York", send_hour=2) == dt.date(2026, 3, 8)


def test_two_timezones_on_different_dates_plan_separate_runs():
    now = dt.datetime(2026, 12, 1, 20, 30, tzinfo=UTC)  # Tokyo: 05:30 on the 2nd; Lisbon 20:30 on the 1st
    candidates = [
        Candidate(1, "daily", 5, "Asia/Tokyo"), Candidate(2, "daily", 7, "Asia/Tokyo"),
        Candidate(3, "daily", 7, "Europe/Lisbon"), Candidate(4, "weekly", 7, "Europe/Lisbon"),
        Candidate(5, "daily", None, "Pacific/Auckland"),  # 09:30 on the 2nd; default hour 9
    ]
    groups = due_by_date(candidates, now, rule=DueRule(9, ["daily", "weekly"], weekly_day=1))
    assert groups == {
        ("daily", dt.date(2026, 12, 2)): [1, 5],
        ("daily", dt.date(2026, 12, 1)): [3],
        ("weekly", dt.date(2026, 12, 1)): [4],
    }
    assert due_by_date(candidates, now, rule=DueRule(10, ["daily"])) == {
        ("daily", dt.date(2026, 12, 2)): [1], ("daily", dt.date(2026, 12, 1)): [3],
    }
    assert due_by_date(candidates, now, rule=DueRule(9, ["daily"]), busy={1, 3}) == {
        ("daily", dt.date(2026, 12, 2)): [5]
    }


def test_unknown_timezones_count_as_utc_and_naive_times_are_refused():
    now = dt.datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert due_date(now, timezone="Mars/Olympus_Mons", send_hour=8) == dt.date(2026, 12, 1)
    with pytest.raises(ValueError):
        due_date(now.replace(tzinfo=None), timezone="UTC", send_hour=8)


def test_candidate_dates_cover_every_timezone():
    now = dt.datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
    assert candidate_dates(now) == (dt.date(2026, 11, 30), dt.date(2026, 12, 1), dt.date(2026, 12, 2))
