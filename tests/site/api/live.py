"""A live API for the tests that talk HTTP to it (the fuzzer, the README's curl examples):
a seeded catalogue with its graph and search index, and gunicorn serving the site."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from digest.config import load_settings
from digest.demo.seed import SeedPlan, seed
from digest.graph import sync
from digest.graph.store import Graph
from digest.search import open_search
from digest.search.documents import stream_documents
from digest.stores import db
from digest.stores.redis_store import connect
from tests.conftest import REDIS_URL, TEST_SECRET
from tests.ops.test_production import gunicorn


@contextmanager
def live_api(database_url: str, data_dir: Path, **extra: str):
    """Yields (base URL, a personal API token of the seeded person who follows most people)."""
    env = {
        **os.environ, "LANYARD_DATABASE_URL": database_url, "LANYARD_REDIS_URL": REDIS_URL,
        "LANYARD_REDIS_PREFIX": f"live{secrets.token_hex(3)}:", "LANYARD_DATA_DIR": str(data_dir),
        "LANYARD_SECRET_KEYS": TEST_SECRET, **extra,
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    settings = load_settings(env)
    engine = db.make_engine(settings.database.primary)
    try:
        seed(engine, SeedPlan(people=60, events=30, subscribers=20, seed=11, today=dt.date.today()))
        sync.rebuild(Graph(connect(settings), settings.redis.prefix), engine)
        with engine.connect() as connection:
            open_search(settings).rebuild(stream_documents(connection))
        token = _token(engine)
        with gunicorn(env, data_dir / "gunicorn.log") as url:
            yield url, token
    finally:
        with engine.begin() as connection:  # not among the core's tables, which the fixture empties
            connection.execute(text("DELETE FROM api_token"))
        engine.dispose()


def _token(engine) -> str:
    token = "lanyard_" + secrets.token_urlsafe(32)
    with engine.begin() as connection:
        person_id = connection.execute(text(
            "SELECT follower_id FROM follow GROUP BY follower_id ORDER BY count(*) DESC, follower_id LIMIT 1"
        )).scalar_one()
        connection.execute(text(
            "INSERT INTO api_token (person_id, name, digest, prefix, created_at) VALUES (:p, 'tests', :d, :x, :c)"
        ), {"p": person_id, "d": hashlib.sha256(token.encode()).hexdigest(), "x": token[:12],
            "c": dt.datetime.now(dt.UTC)})
    return token
