"""`lanyard digest explain`: why an event is (or is not) in a subscriber's digest."""

import datetime as dt

import pytest
from sqlalchemy import select

from digest.graph.store import Graph
from digest.graph.sync import rebuild
from digest.stores import db
from tests.cli.test_digest_cli import DAY, PREFIX, env, lanyard, world  # noqa: F401  (fixtures)
from tests.factories import make_attendance, make_event


def explain(*args):
    return lanyard("digest", "explain", *args)


def test_a_new_event_is_listed_with_who_goes(world):
    result = explain("--subscriber", "ada", "--event", "pycon-lisbon", "--date", str(DAY))
    assert result.exit_code == 0, result.output
    assert "followed people going (database): Bob (speaking)" in result.output
    assert "found by the redis strategy: 1 of them" in result.output
    assert "mentioned by an earlier digest: no" in result.output
    assert f"ledger for {DAY}: nothing yet" in result.output
    assert "verdict: listed: new event 1 of 1 in the email" in result.output


def test_after_the_run_the_ledger_and_the_memory_say_so(world):
    assert lanyard("digest", "run", "--date", str(DAY)).exit_code == 0
    result = explain("--subscriber", "ada", "--event", "pycon-lisbon", "--date", str(DAY))
    assert f"ledger for {DAY}: sent" in result.output
    assert "mentioned by an earlier digest: yes" in result.output
    assert "settled: no later run sends that day's digest again" in result.output
    # Mentioned, and starting within a week: "also coming up" on the next day's email, if there is one.
    later = explain("--subscriber", "ada", "--event", "pycon-lisbon", "--date", str(DAY + dt.timedelta(days=1)))
    assert 'verdict: listed under "also coming up"' in later.output
    assert "nothing new for them that day: no email at all" in later.output


def test_nobody_followed_goes(world):
    result = explain("--subscriber", "eve", "--event", "pycon-lisbon", "--date", str(DAY))
    assert "followed people going (database): none" in result.output
    assert "verdict: not in the digest" in result.output
    assert "none of the people they follow attends or speaks at the event" in result.output


def test_outside_the_window_and_beyond_the_cap(world, engine, redis_client):
    early = explain("--subscriber", "ada", "--event", "pycon-lisbon", "--date", str(DAY - dt.timedelta(days=400)))
    assert "outside the digest's window" in early.output and "verdict: not in the digest" in early.output
    with engine.begin() as c:
        bob = c.execute(select(db.person.c.id).where(db.person.c.handle == "bob")).scalar()
        for n in range(20):  # twenty events bob attends, all sooner than PyCon Lisbon
            make_attendance(c, bob, make_event(c, DAY + dt.timedelta(days=1), name=f"Early {n}", slug=f"early-{n}"))
    rebuild(Graph(redis_client, PREFIX), engine)
    capped = explain("--subscriber", "ada", "--event", "pycon-lisbon", "--date", str(DAY))
    assert 'verdict: counted in "and 1 more": the email lists the soonest 20 new events' in capped.output


def test_a_stale_graph_shows_as_a_disagreement(world, engine):
    with engine.begin() as c:
        bob = c.execute(select(db.person.c.id).where(db.person.c.handle == "bob")).scalar()
        make_attendance(
            c, bob, make_event(c, DAY + dt.timedelta(days=9), name="New Conf", slug="new-conf"), "attending"
        )
    result = explain("--subscriber", "ada", "--event", "new-conf", "--date", str(DAY))
    assert "followed people going (database): Bob (attending)" in result.output
    assert "the graph or the search index is behind" in result.output


@pytest.mark.parametrize(("args", "says"), [
    (["--subscriber", "nobody", "--event", "pycon-lisbon"], "no person has the handle 'nobody'"),
    (["--subscriber", "bob", "--event", "pycon-lisbon"], "bob has no daily subscription"),
    (["--subscriber", "ada", "--event", "no-such-event"], "no event has the slug 'no-such-event'"),
    (["--subscriber", "ada", "--event", "pycon-lisbon", "--date", "2026-13-01"], "Invalid value for '--date'"),
])
def test_mistakes_are_one_line(world, args, says):
    result = explain(*args)
    assert result.exit_code in (1, 2)
    assert says in result.output
    assert "Traceback" not in result.output
