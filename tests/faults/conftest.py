"""The fault tests' world: a PostgreSQL cluster and a Redis server of their own, an SMTP
server counting what arrives, two `lanyard worker` processes and `lanyard beat`."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
import redis
from sqlalchemy import select

from digest.config import load_settings
from digest.demo.seed import SeedPlan, seed
from digest.graph.store import Graph
from digest.graph.sync import rebuild
from digest.runs.runtime import schedule_set
from digest.stores import db
from lanyard_cli.app import LANYARD
from scheduler.app import create_app
from scheduler.enqueue import Enqueue
from tests.conftest import ROOT, TEST_SECRET, django_migrate
from tests.faults.servers import PostgresCluster, RedisServer
from tests.scheduler.conftest import DAY, Workers

TEMPLATE = "lanyard_template"
SUBSCRIBERS = 240


@pytest.fixture(scope="session")
def pg_cluster(tmp_path_factory):
    """A cluster of the tests' own with a migrated template database."""
    cluster = PostgresCluster()
    cluster.init()
    cluster.start()
    try:
        cluster.create_database(TEMPLATE)
        django_migrate(cluster.url(TEMPLATE), tmp_path_factory.mktemp("pg-migrate"))
        yield cluster
    finally:
        try:
            cluster.stop()
        finally:
            cluster.remove()


@pytest.fixture
def fault_database(pg_cluster):
    name = f"lanyard_fault_{secrets.token_hex(4)}"
    url = pg_cluster.create_database(name, template=TEMPLATE)
    yield url
    with psycopg.connect(pg_cluster.url(), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


class Stack:
    """The stores, the settings every process shares, the workers and the beat."""

    def __init__(self, env: dict, log_dir: Path):
        self.env = env
        self.settings = load_settings(env)
        self.engine = db.make_engine(self.settings.database.primary)
        self.app = create_app(self.settings)
        self.enqueue = Enqueue(self.app)
        self.log_dir = log_dir
        self.workers = Workers(env, self.app, log_dir)
        self.beat: subprocess.Popen | None = None

    def start(self, *, workers: int = 2) -> None:
        """``workers`` worker processes (each a pool of one) and the beat."""
        for _ in range(workers):
            self.workers.start(concurrency=1)
        env = {**os.environ, **self.env}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        with open(self.log_dir / "beat.log", "ab") as log:
            self.beat = subprocess.Popen(
                [*LANYARD, "beat", "--loglevel", "INFO"],
                env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def lanyard(self, *args: str) -> str:
        """Run the `lanyard` command against these stores; its output."""
        env = {**os.environ, **self.env}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        result = subprocess.run([*LANYARD, *args], env=env, cwd=ROOT,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def logs(self) -> str:
        return "\n".join(
            f"== {p.name}\n{p.read_text(errors='replace')[-4000:]}" for p in sorted(self.log_dir.glob("*.log"))
        )

    def close(self) -> None:
        self.workers.stop_all()
        if self.beat is not None and self.beat.poll() is None:
            os.killpg(self.beat.pid, signal.SIGTERM)
            try:
                self.beat.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.beat.pid, signal.SIGKILL)
                self.beat.wait()
        self.app.close()
        self.engine.dispose()


@pytest.fixture
def stack(fault_database, redis_server, smtp_server, tmp_path):
    prefix = f"flt{secrets.token_hex(3)}:"
    env = {
        "LANYARD_DATA_DIR": str(tmp_path / "var"),
        "LANYARD_DATABASE_URL": fault_database,
        "LANYARD_REDIS_URL": redis_server.url(0),
        "LANYARD_BROKER_URL": redis_server.url(1),
        "LANYARD_REDIS_PREFIX": prefix,
        "LANYARD_MAIL_URL": smtp_server.url,
        "LANYARD_SECRET_KEYS": TEST_SECRET,
    }
    (tmp_path / "logs").mkdir()
    found = Stack(env, tmp_path / "logs")
    seed(found.engine, SeedPlan(people=600, events=80, subscribers=SUBSCRIBERS, seed=11, today=DAY))
    rebuild(Graph(redis_lib_client(redis_server), prefix), found.engine)
    # Slow enough that a fault lands mid-run; lost work is taken over after 10 s; the
    # beat plans nothing of its own (no lists), it only sweeps.
    schedule_set(found.engine, chunk_size=15, rate_limit=30, chunk_timeout=10, max_attempts=8, lists="")
    yield found
    found.close()


def redis_lib_client(server: RedisServer) -> redis.Redis:
    return redis.Redis.from_url(server.url(0))


def active_subscriptions(engine) -> dict[int, str]:
    s = db.subscription
    with engine.connect() as connection:
        rows = connection.execute(select(s.c.id, s.c.email).where(s.c.status == "active", s.c.list == "daily"))
        return {sid: email for sid, email in rows}


def wait_for(condition, *, timeout: float, message: str, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {message}")
        time.sleep(interval)
