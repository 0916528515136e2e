"""The store handles (digest/handles.py): built on first use from the settings given, once."""

from __future__ import annotations

from sqlalchemy import select

from digest.handles import Handles
from digest.stores import db
from tests.factories import make_person


def test_the_handles_reach_the_stores_the_settings_name(make_settings, database_url, engine, redis_client):
    with engine.begin() as c:
        make_person(c, handle="ada")
    handles = Handles(make_settings(database_url=database_url, redis_prefix="handles:"))
    assert handles.engine is handles.engine  # built once
    with handles.engine.connect() as c:
        assert c.execute(select(db.person.c.handle)).scalars().all() == ["ada"]
    handles.redis.set("handles:probe", "1")
    assert redis_client.get("handles:probe") == b"1"  # the same server and database as the test's
    assert handles.graph.prefix == "handles:"
    handles.engine.dispose()
