"""The endpoint's queue applier: what the endpoint queues reaches the database right
after, whichever process holds the replay lock, and a store away only delays it."""

from __future__ import annotations

import logging
import socket
import time

from sqlalchemy import select

from digest.stores import db
from digest.stores.keys import RedisKeys
from digest.subscriptions import SubscriptionChange
from digest.unsubscribe_queue import subscription_change_enqueue, unsubscribe_queue_length
from unsubscribe_web.applier import QueueApplier

from .conftest import wait_applied

PREFIX = "lanyard:"
KEYS = RedisKeys(PREFIX)


def status_of(engine, subscription_id: int) -> str:
    with engine.connect() as connection:
        return connection.execute(
            select(db.subscription.c.status).where(db.subscription.c.id == subscription_id)
        ).scalar_one()


def queue_unsubscribe(redis_client, subscription_id: int) -> None:
    import datetime as dt

    subscription_change_enqueue(redis_client, prefix=PREFIX, change=SubscriptionChange(
        subscription_id, "unsubscribe", "one_click", dt.datetime.now(dt.UTC),
    ))


def test_a_poke_applies_what_was_queued(engine, redis_client, make_subscription):
    ref = make_subscription()
    applier = QueueApplier(engine, redis_client, prefix=PREFIX)
    try:
        queue_unsubscribe(redis_client, ref.subscription_id)
        assert status_of(engine, ref.subscription_id) == "active"
        applier.poke()
        wait_applied(redis_client)
        assert status_of(engine, ref.subscription_id) == "unsubscribed"
    finally:
        applier.close()


def test_while_another_replay_holds_the_lock_it_retries_until_the_queue_is_empty(
    engine, redis_client, make_subscription
):
    ref = make_subscription()
    applier = QueueApplier(engine, redis_client, prefix=PREFIX, retry=0.01, max_retry=0.05)
    try:
        redis_client.set(KEYS.unsubscribe_replay_lock, "another process", px=60_000)
        queue_unsubscribe(redis_client, ref.subscription_id)
        applier.poke()
        deadline = time.monotonic() + 20
        while applier.passes < 3:  # it came back by itself, without another poke
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert status_of(engine, ref.subscription_id) == "active"
        redis_client.delete(KEYS.unsubscribe_replay_lock)  # the other process finished (and died before draining)
        wait_applied(redis_client)
        assert status_of(engine, ref.subscription_id) == "unsubscribed"
    finally:
        applier.close()


def test_a_database_away_is_one_log_line_and_the_queue_waits(make_settings, redis_client, caplog):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dead = db.make_engine(make_settings(database_url=f"postgresql://postgres@127.0.0.1:{port}/x").database.primary,
                          connect_args={"connect_timeout": 2})
    applier = QueueApplier(dead, redis_client, prefix=PREFIX, retry=0.01, max_retry=0.02)
    caplog.set_level(logging.INFO, logger="lanyard.unsubscribe_web")
    try:
        queue_unsubscribe(redis_client, 12345)
        applier.poke()
        deadline = time.monotonic() + 20
        while applier.passes < 4:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        applier.close()
        dead.dispose()
    assert caplog.text.count("cannot apply the queued changes yet") == 1  # not once per retry
    assert "Traceback" not in caplog.text
    assert unsubscribe_queue_length(redis_client, prefix=PREFIX) == 1  # kept for a later pass
    assert not applier.running()


def test_after_close_a_poke_starts_nothing(engine, redis_client):
    applier = QueueApplier(engine, redis_client, prefix=PREFIX)
    applier.poke()
    assert applier.running()
    applier.close()
    assert not applier.running()
    applier.poke()
    assert not applier.running()
