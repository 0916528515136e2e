"""The event loop's Redis connection (queue_writer.py): it queues exactly what the app's
own client queues, on the server and database that client names (TCP or the embedded
server's Unix socket), and it recovers from NOSCRIPT, a refused write and a Redis that
went away and came back."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
import redis

from digest.stores.keys import RedisKeys
from digest.subscriptions import SubscriptionChange
from digest.unsubscribe_queue import subscription_changes_enqueue
from digest.vocabulary import ChangeVia, SubscriptionAction
from tests.conftest import REDIS_URL
from tests.faults.servers import RedisServer
from unsubscribe_web.queue_writer import QueueWriter

PREFIX = "lanyard:"
KEYS = RedisKeys(PREFIX)
AT = dt.datetime(2026, 12, 7, 21, 0, tzinfo=dt.UTC)


def changes(*ids: int) -> list[SubscriptionChange]:
    """Unsubscribes of ``ids``; a negative id is a resubscribe of its opposite."""
    return [
        SubscriptionChange(abs(i), SubscriptionAction.UNSUBSCRIBE if i > 0 else SubscriptionAction.RESUBSCRIBE,
                           ChangeVia.ONE_CLICK, AT)
        for i in ids
    ]


def queued(client: redis.Redis) -> tuple[list[bytes], set[bytes]]:
    return client.lrange(KEYS.unsubscribe_pending, 0, -1), client.smembers(KEYS.unsubscribe_suppressed)


def enqueue(writer: QueueWriter, batch: list[SubscriptionChange]) -> None:
    async def run():
        try:
            await writer.enqueue(batch)
        finally:
            await writer.close()  # each asyncio.run has its own loop: never share a connection between loops

    asyncio.run(run())


def test_it_queues_what_the_apps_client_queues_on_the_same_redis(any_redis):
    """``any_redis``: the Redis server over TCP, and the embedded one over its Unix socket."""
    mixed = changes(1, 2, -1, 3)
    subscription_changes_enqueue(any_redis, prefix=PREFIX, changes=mixed)
    expected = queued(any_redis)
    any_redis.delete(KEYS.unsubscribe_pending, KEYS.unsubscribe_suppressed)

    enqueue(QueueWriter(any_redis, prefix=PREFIX), mixed)
    assert queued(any_redis) == expected
    assert expected[1] == {b"2", b"3"}  # 1 out again: its resubscribe came after its unsubscribe
    assert len(expected[0]) == 4


def test_after_redis_forgot_the_script_it_sends_it_whole(redis_client):
    writer = QueueWriter(redis_client, prefix=PREFIX)

    async def run():
        await writer.enqueue(changes(1))
        redis_client.script_flush()
        await writer.enqueue(changes(2))
        await writer.close()

    asyncio.run(run())
    assert queued(redis_client)[1] == {b"1", b"2"}


def test_a_refused_write_raises_and_the_connection_still_serves(redis_client):
    writer = QueueWriter(redis_client, prefix=PREFIX)
    redis_client.set(KEYS.unsubscribe_suppressed, "not a set")

    async def run():
        with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
            await writer.enqueue(changes(1))
        kept = writer._connection
        redis_client.delete(KEYS.unsubscribe_suppressed)
        await writer.enqueue(changes(2))
        assert writer._connection is kept
        await writer.close()

    asyncio.run(run())
    assert queued(redis_client)[1] == {b"2"}


def test_a_connection_redis_closed_while_idle_is_made_again_without_an_error():
    client = redis.Redis.from_url(REDIS_URL, client_name="lanyard-queue-writer-test")
    writer = QueueWriter(client, prefix=PREFIX)

    async def run():
        await writer.enqueue(changes(1))
        first = writer._connection
        ids = [c["id"] for c in client.client_list()
               if c["name"] == "lanyard-queue-writer-test" and c["cmd"] != "client|list"]
        assert len(ids) == 1  # the writer's own connection, named as the app's client
        client.client_kill_filter(_id=ids[0])  # as Redis does to a client idle past its timeout
        await writer.enqueue(changes(2))
        assert writer._connection is not first
        await writer.close()

    try:
        client.flushdb()
        asyncio.run(run())
        assert queued(client)[1] == {b"1", b"2"}
    finally:
        client.flushdb()
        client.close()


def test_a_redis_that_went_away_is_a_redis_error_then_a_new_connection(tmp_path):
    server = RedisServer(tmp_path / "redis")
    server.start()
    client = redis.Redis.from_url(server.url(), socket_timeout=2)
    writer = QueueWriter(client, prefix=PREFIX)

    async def run():
        await writer.enqueue(changes(1))
        server.kill()
        with pytest.raises(redis.ConnectionError):
            await writer.enqueue(changes(2))
        with pytest.raises(redis.ConnectionError):  # still away: refused, not hung
            await writer.enqueue(changes(3))
        server.start()  # the append-only file brings the first change back
        await writer.enqueue(changes(4))
        await writer.close()

    try:
        asyncio.run(run())
        assert queued(client)[1] == {b"1", b"4"}
    finally:
        client.close()
        server.stop()


def test_a_client_whose_connections_have_no_asyncio_twin_is_refused_at_once():
    class Odd(redis.Connection):
        pass

    client = redis.Redis(connection_pool=redis.ConnectionPool(connection_class=Odd))
    with pytest.raises(TypeError, match="Odd"):
        QueueWriter(client, prefix=PREFIX)
