"""`lanyard serve unsubscribe`, `lanyard unsubscribe replay` and `lanyard unsubscribe link`
as a user runs them: real processes, the test database and Redis."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import select

from digest.stores import db
from digest.subscriptions import SubscriptionChange
from digest.tokens import TokenSigner
from digest.unsubscribe_queue import subscription_change_enqueue, unsubscribe_queue_length
from tests.conftest import REDIS_URL, TEST_SECRET

LANYARD = [sys.executable, "-m", "lanyard_cli"]


@pytest.fixture
def lanyard_env(database_url, short_tmp):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANYARD_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(LANYARD_DATABASE_URL=database_url, LANYARD_REDIS_URL=REDIS_URL, LANYARD_SECRET_KEYS=TEST_SECRET,
               LANYARD_DATA_DIR=str(short_tmp))
    return env


@pytest.fixture
def subscription_id(engine):
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as connection:
        person_id = connection.execute(db.person.insert().values(
            name="Radia", handle="radia", bio="", avatar_url="", timezone="UTC", cache_version=1,
        )).inserted_primary_key[0]
        return connection.execute(db.subscription.insert().values(
            person_id=person_id, list="daily", status="active", email="radia@example.com", send_hour=7,
            created_at=now, updated_at=now,
        )).inserted_primary_key[0]


def status(engine, subscription_id) -> str:
    with engine.connect() as connection:
        return connection.execute(
            select(db.subscription.c.status).where(db.subscription.c.id == subscription_id)
        ).scalar_one()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_link_prints_the_unsubscribe_url(lanyard_env, subscription_id):
    lanyard_env["LANYARD_UNSUBSCRIBE_URL"] = "https://u.example.com"
    result = subprocess.run([*LANYARD, "unsubscribe", "link", str(subscription_id)], env=lanyard_env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip()
    assert url.startswith("https://u.example.com/u/")
    assert TokenSigner([TEST_SECRET]).verify("unsubscribe", url.rsplit("/", 1)[1]).subscription_id == subscription_id
    missing = subprocess.run([*LANYARD, "unsubscribe", "link", str(subscription_id + 1)], env=lanyard_env,
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert f"no subscription {subscription_id + 1}" in missing.stderr


def test_serve_unsubscribe_serves_the_printed_link(lanyard_env, engine, subscription_id):
    port = free_port()
    lanyard_env["LANYARD_UNSUBSCRIBE_URL"] = f"http://127.0.0.1:{port}"
    url = subprocess.run([*LANYARD, "unsubscribe", "link", str(subscription_id)], env=lanyard_env,
                         capture_output=True, text=True, timeout=120, check=True).stdout.strip()
    server = subprocess.Popen([*LANYARD, "serve", "unsubscribe"], env=lanyard_env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.communicate()
            try:
                page = httpx.get(url, timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the endpoint never answered"
                time.sleep(0.2)
        assert page.status_code == 200 and "Unsubscribe from the daily digest?" in page.text
        assert httpx.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200
        # Queued at once; the server's queue applier writes it to the database right after.
        deadline = time.monotonic() + 30
        while status(engine, subscription_id) != "unsubscribed":
            assert time.monotonic() < deadline, "the unsubscribe never reached the database"
            time.sleep(0.05)
    finally:
        server.terminate()
        stdout, stderr = server.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/u/<token>" in stdout
    assert url.rsplit("/", 1)[1] not in stderr  # request log lines leave the token out


def test_serve_on_a_taken_port_is_one_line(lanyard_env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([*LANYARD, "serve", "unsubscribe", "--host", "127.0.0.1", "--port", str(port)],
                                env=lanyard_env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_replay_applies_the_queue(lanyard_env, engine, redis_client, subscription_id):
    subscription_change_enqueue(redis_client, prefix="lanyard:", change=SubscriptionChange(
        subscription_id, "unsubscribe", "one_click", dt.datetime.now(dt.UTC)))
    subscription_change_enqueue(redis_client, prefix="lanyard:", change=SubscriptionChange(
        subscription_id + 77, "unsubscribe", "link", dt.datetime.now(dt.UTC)))
    result = subprocess.run([*LANYARD, "unsubscribe", "replay"], env=lanyard_env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "replayed 1 queued change(s); 0 still queued" in result.stdout
    assert f"subscription {subscription_id + 77}" in result.stderr and "no longer exists" in result.stderr
    assert status(engine, subscription_id) == "unsubscribed"


def test_replay_with_the_database_down_is_one_line_and_keeps_the_queue(lanyard_env, redis_client, subscription_id):
    subscription_change_enqueue(redis_client, prefix="lanyard:", change=SubscriptionChange(
        subscription_id, "unsubscribe", "one_click", dt.datetime.now(dt.UTC)))
    lanyard_env["LANYARD_DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:{free_port()}/lanyard"
    result = subprocess.run([*LANYARD, "unsubscribe", "replay"], env=lanyard_env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "cannot use the database" in result.stderr
    assert unsubscribe_queue_length(redis_client, prefix="lanyard:") == 1
