"""The event loop's own Redis connection, for the one write the hot path makes: a
group of unsubscribes queued with ``ENQUEUE_SCRIPT`` (digest/unsubscribe_queue.py),
the same script with the same arguments as every other caller.

Why a bare connection on the loop: handing each group to a writer thread running the
app's redis-py client cost the endpoint about 140 µs of CPU per POST (the thread
switches and the GIL turns, more than the request's own work); redis.asyncio's client
costs 163 µs of CPU per call in its pool and pipeline, one of its bare connections
78 µs (measured in one process, a group of one to eight). The group committer writes
one group at a time, so one connection serves the whole process and needs no pool.

The connection is made on the first write, with the settings of the app's own
client (same server, database, credentials and timeouts), and made again after any
error; an error reaches the caller as a ``RedisError``, so the group falls back as
when the app's client fails.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from typing import Any

import redis as redis_lib
import redis.asyncio as redis_async
from redis.exceptions import NoScriptError

from digest.subscriptions import SubscriptionChange
from digest.unsubscribe_queue import ENQUEUE_SCRIPT, enqueue_arguments, enqueue_keys

# The async twin of each connection class the app's client may use.
_ASYNC_CONNECTION = {
    redis_lib.Connection: redis_async.Connection,
    redis_lib.UnixDomainSocketConnection: redis_async.UnixDomainSocketConnection,
    redis_lib.SSLConnection: redis_async.SSLConnection,
}
# What the twin takes over of the client's settings (the rest are redis-py's internals).
_CARRIED = frozenset({
    "host", "port", "path", "db", "username", "password", "credential_provider", "client_name",
    "socket_timeout", "socket_connect_timeout", "ssl_keyfile", "ssl_certfile", "ssl_cert_reqs", "ssl_ca_certs",
    "ssl_ca_data", "ssl_ca_path", "ssl_check_hostname", "ssl_min_version", "ssl_ciphers", "ssl_password",
})
_SHA = hashlib.sha1(ENQUEUE_SCRIPT.encode()).hexdigest()


class QueueWriter:
    def __init__(self, redis: redis_lib.Redis, *, prefix: str):
        pool = redis.connection_pool
        twin = _ASYNC_CONNECTION.get(pool.connection_class)
        if twin is None:
            raise TypeError(f"no asyncio connection for Redis connections of type {pool.connection_class.__name__}")
        self._twin = twin
        self._options: dict[str, Any] = {k: v for k, v in pool.connection_kwargs.items() if k in _CARRIED}
        self._keys = enqueue_keys(prefix)
        self._connection: redis_async.Connection | None = None

    async def enqueue(self, changes: Sequence[SubscriptionChange]) -> None:
        """Queue ``changes`` in one script call; ``RedisError`` when Redis did not take them.

        A kept connection that turns out closed (Redis drops idle clients after its
        ``timeout``, or restarted) is made again and the call sent once more: had the
        first call been applied after all, the changes are queued twice, which the
        replay applies once."""
        arguments = [2, *self._keys, *enqueue_arguments(changes)]
        kept = self._connection is not None
        try:
            await self._send(arguments)
        except redis_lib.ConnectionError:
            if not kept:
                raise
            await self._send(arguments)

    async def _send(self, arguments: list) -> None:
        try:
            connection = self._connection or await self._connect()
            try:
                await self._call(connection, "EVALSHA", _SHA, arguments)
            except NoScriptError:  # a Redis restarted, or flushed its scripts
                await self._call(connection, "EVAL", ENQUEUE_SCRIPT, arguments)
        except redis_lib.ResponseError:
            raise  # Redis refused the write (out of memory, a replica): the connection is sound
        except (redis_lib.RedisError, OSError) as error:  # OSError: timeouts included
            await self.close()
            if isinstance(error, redis_lib.RedisError):
                raise
            raise redis_lib.ConnectionError(f"{type(error).__name__}: {error}") from error
        except asyncio.CancelledError:  # the worker stopping mid-call: a reply may be left unread
            self._connection = None
            raise

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.disconnect()

    async def _connect(self) -> redis_async.Connection:
        connection = self._twin(**self._options)
        await connection.connect()
        self._connection = connection
        return connection

    @staticmethod
    async def _call(connection: redis_async.Connection, command: str, script: str, arguments: list) -> None:
        # No health check: a broken connection fails this call, which makes a new one.
        await connection.send_command(command, script, *arguments, check_health=False)
        await connection.read_response()
