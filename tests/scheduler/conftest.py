"""Real Celery workers (``lanyard worker`` subprocesses) on a real Redis broker.

The broker is Redis DB 14 with a key prefix of the test's own, so concurrent test runs
never take each other's tasks; the data Redis is the suite's test Redis.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import signal
import socket
import subprocess
import sys
import time

import pytest
import redis as redis_lib
from sqlalchemy import select

from digest.demo.seed import SeedPlan, seed
from digest.graph.store import Graph
from digest.graph.sync import rebuild
from digest.stores import db
from lanyard_cli.app import LANYARD
from scheduler.app import create_app
from scheduler.enqueue import Enqueue
from scheduler.local import workers_answering
from tests.conftest import REDIS_URL, ROOT, TEST_SECRET

BROKER_URL = os.environ.get("LANYARD_TEST_BROKER_URL", REDIS_URL.rsplit("/", 1)[0] + "/14")
DAY = dt.date(2026, 12, 1)


@pytest.fixture
def prefix():
    return f"sch{secrets.token_hex(4)}:"


@pytest.fixture
def worker_env(database_url, smtp_server, prefix, tmp_path):
    return {
        "LANYARD_DATA_DIR": str(tmp_path / "var"),
        "LANYARD_DATABASE_URL": database_url,
        "LANYARD_REDIS_URL": REDIS_URL,
        "LANYARD_BROKER_URL": BROKER_URL,
        "LANYARD_REDIS_PREFIX": prefix,
        "LANYARD_MAIL_URL": smtp_server.url,
        "LANYARD_SECRET_KEYS": TEST_SECRET,
    }


@pytest.fixture
def sched_settings(make_settings, worker_env):
    return make_settings(**{k[len("LANYARD_"):].lower(): v for k, v in worker_env.items()})


@pytest.fixture
def celery_app(sched_settings, prefix):
    app = create_app(sched_settings)
    yield app
    app.close()
    broker = redis_lib.Redis.from_url(BROKER_URL)
    keys = list(broker.scan_iter(f"{prefix}*"))
    if keys:
        broker.delete(*keys)
    broker.close()


@pytest.fixture
def enqueue(celery_app):
    return Enqueue(celery_app)


class Workers:
    """Start and stop `lanyard worker` processes (each in its own process group)."""

    def __init__(self, env, app, log_dir):
        self.env = {**os.environ, **env}
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        self.app = app
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen] = []

    def start(self, concurrency: int = 2, *, on=None, env=None) -> subprocess.Popen:
        """``on``: a function wrapping the command (to run it on another "host");
        ``env``: variables that differ for this worker."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        name = f"w{len(self.processes)}-{secrets.token_hex(3)}@%h"
        wrap = on or (lambda argv: argv)
        with open(self.log_dir / f"worker{len(self.processes)}.log", "ab") as log:
            process = subprocess.Popen(
                wrap([
                    *LANYARD,
                    "worker",
                    "--concurrency",
                    str(concurrency),
                    "--loglevel",
                    "INFO",
                    "--hostname",
                    name,
                ]),
                env={**self.env, **(env or {})},
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append(process)
        deadline = time.monotonic() + 60
        while not workers_answering(self.app, timeout=0.5):
            assert process.poll() is None, f"worker exited: {self.log()}"
            assert time.monotonic() < deadline, f"worker never answered a ping: {self.log()}"
        return process

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL the worker and its pool processes at once."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def log(self) -> str:
        return "\n".join(p.read_text()[-3000:] for p in sorted(self.log_dir.glob("worker*.log")))


@pytest.fixture
def workers(worker_env, celery_app, tmp_path):
    found = Workers(worker_env, celery_app, tmp_path / "logs")
    yield found
    found.stop_all()


@pytest.fixture
def seeded(engine, redis_client, prefix):
    """A small seeded world (60 subscribers) and its graph under the test's prefix."""
    seed(engine, SeedPlan(people=400, events=60, subscribers=60, seed=5, today=DAY))
    rebuild(Graph(redis_client, prefix), engine)
    with engine.connect() as connection:
        return list(connection.execute(select(db.subscription.c.id).order_by(db.subscription.c.id)).scalars())


# Deadlines are sized for a loaded 2-core machine (several test runs and a CPU hog beside
# these); the condition ends each wait as soon as it holds.
def wait_until(condition, *, timeout: float = 240.0, interval: float = 0.2, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(interval)


def run_row(engine, run_id):
    with engine.connect() as connection:
        return connection.execute(select(db.digest_run).where(db.digest_run.c.id == run_id)).mappings().one()


def ledger(engine, run_id=None):
    d = db.delivery
    query = select(d.c.subscription_id, d.c.status)
    if run_id is not None:
        query = query.where(d.c.run_id == run_id)
    with engine.connect() as connection:
        return {row[0]: row[1] for row in connection.execute(query)}


def emails(engine, subscription_ids):
    s = db.subscription
    with engine.connect() as connection:
        return {
            row[0]: row[1]
            for row in connection.execute(select(s.c.id, s.c.email).where(s.c.id.in_(list(subscription_ids))))
        }


def recipients(smtp_server):
    return [r for m in list(smtp_server.messages) for r in m.rcpt_tos]


def assert_each_sent_exactly_once(engine, smtp_server, run_id):
    """Every delivery marked sent arrived exactly once, and nothing else arrived."""
    entries = ledger(engine, run_id)
    sent = [sid for sid, status in entries.items() if status == "sent"]
    received = recipients(smtp_server)
    assert len(received) == len(set(received)), "a subscriber got two digests"
    assert sorted(received) == sorted(emails(engine, sent).values())
    return sent


def set_schedule(engine, **values):
    from digest.runs.runtime import schedule_set

    return schedule_set(engine, **values)


def settle(engine, run_id, *, quiet: float = 1.5):
    """Wait until the run's ledger stops changing for ``quiet`` seconds; return it."""
    last, since = None, time.monotonic()
    while True:
        now = ledger(engine, run_id)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet and "claimed" not in now.values():
            return now
        time.sleep(0.2)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def site(worker_env, tmp_path):
    """`lanyard serve site` on a free port with the workers' settings; yields its base URL."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANYARD_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(worker_env, LANYARD_BASE_URL=f"http://127.0.0.1:{port}")
    with open(tmp_path / "site.log", "ab") as log:
        process = subprocess.Popen([sys.executable, "-c", "from lanyard_cli.main import main; main()", "serve", "site"],
                                   env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def answering() -> bool:
        assert process.poll() is None, (tmp_path / "site.log").read_text()[-3000:]
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            return False

    wait_until(answering, timeout=90, message="the site to listen")
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright  # imported here: only the browser tests need it

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()
