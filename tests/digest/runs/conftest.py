"""What the run's tests share: three subscribers following a speaker, real stores."""

from __future__ import annotations

import datetime as dt

import pytest

from digest.graph.store import Graph
from digest.graph.sync import rebuild
from digest.runs.state import run_get
from tests.factories import make_attendance, make_event, make_follow, make_person, make_subscription

DAY = dt.date(2026, 12, 1)
PREFIX = "runs:"
TIMEOUT = dt.timedelta(minutes=10)


@pytest.fixture
def world(make_settings, database_url, smtp_server, engine, redis_client):
    """Three subscribers who each follow bob, who speaks at a conference in a week."""
    with engine.begin() as c:
        bob = make_person(c, name="Bob", handle="bob")
        conf = make_event(c, DAY + dt.timedelta(days=7), name="PyCon", slug="pycon")
        make_attendance(c, bob, conf, "speaking")
        subs = []
        for name in ("ada", "cy", "dee"):
            person = make_person(c, name=name.capitalize(), handle=name)
            make_follow(c, person, bob)
            subs.append(make_subscription(c, person, email=f"{name}@example.com"))
    rebuild(Graph(redis_client, PREFIX), engine)
    settings = make_settings(database_url=database_url, mail_url=smtp_server.url, redis_prefix=PREFIX)
    return dict(settings=settings, subs=subs)


def status(engine, run_id) -> str:
    return run_get(engine, run_id=run_id)["status"]

