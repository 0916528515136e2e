"""The unsubscribe endpoint as an ASGI application, for gunicorn's ``asgi`` worker
(production: see gunicorn_conf.py).

One event loop per worker process serves every connection. The one-click unsubscribe
POST, the hot path, stays on the loop: its body, its token and its page are a little
CPU each, and its write (queueing it in Redis, app.py) joins the loop's group commit
(groupcommit.py ``LoopGroupCommitter``), which sends each group on the loop's own
Redis connection (queue_writer.py) rather than hand it to a thread. The process's
queue applier (applier.py) writes the queue to the database behind them.
``/healthz`` is answered on the loop too. Everything else (the confirmation page's
database read, resubscribes, ``/readyz``, queueing a change whose group failed)
blocks, so it runs as in the WSGI app, on a small thread pool, with the same pages.
"""

from __future__ import annotations

import asyncio
import io
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis as redis_lib

from digest.subscriptions import SubscriptionNotFound
from digest.vocabulary import ChangeVia, SubscriptionAction

from . import pages
from .app import COMMIT_DEADLINE, MAX_URL, WRITE_FAILED, Outcome, UnsubscribeApp, create_app
from .forms import MAX_BODY, is_one_click
from .groupcommit import LoopGroupCommitter
from .queue_writer import QueueWriter

log = logging.getLogger("lanyard.unsubscribe_web")

UNSUBSCRIBE_PREFIX = "/u/"


class BodyTooLargeNow(Exception):
    pass


class AsgiEndpoint:
    """``app`` (the WSGI application's logic and stores) served on an event loop."""

    def __init__(self, app: UnsubscribeApp, *, threads: int = 8):
        self.app = app
        self.commits: LoopGroupCommitter[tuple[int, str], bool] = LoopGroupCommitter(
            self._unsubscribe_group, deadline=COMMIT_DEADLINE,
        )
        self.queue = QueueWriter(app.redis, prefix=app.prefix)
        self.blocking = ThreadPoolExecutor(threads, thread_name_prefix="lanyard-unsubscribe")

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            method = scope["method"]
            try:
                response = await self.respond(scope, receive, method)
            except Exception:
                # Tokens are secrets: log the route, never the path.
                log.exception("unsubscribe endpoint: unexpected error on %s %s…", method, scope["path"][:3])
                response = pages.server_error()
            await _send(send, response, head=method == "HEAD")

    async def respond(self, scope, receive, method: str) -> pages.Response:
        path = scope["path"]
        if path == "/healthz":
            return pages.health(200, {"status": "ok"})
        try:
            body = await _read_body(receive) if method == "POST" else b""
        except BodyTooLargeNow:
            return pages.body_too_large()
        if (method == "POST" and path.startswith(UNSUBSCRIBE_PREFIX)
                and len(path) + len(scope["query_string"]) <= MAX_URL):
            return await self.unsubscribe(path, _header(scope, b"content-type"), body)
        environ = _environ(scope, method, body)
        return await asyncio.get_running_loop().run_in_executor(self.blocking, self.app.respond, environ, method)

    async def unsubscribe(self, path: str, content_type: str, body: bytes) -> pages.Response:
        purpose = SubscriptionAction.UNSUBSCRIBE
        ref = self.app.verify(path, purpose)
        if ref is None:
            return pages.broken_link(manage_url=self.app.manage_url)
        via = ChangeVia.ONE_CLICK if is_one_click(content_type, body) else ChangeVia.LINK
        try:
            await self.commits.submit((ref.subscription_id, via))
            outcome = Outcome.DONE
        except SubscriptionNotFound:
            outcome = Outcome.UNKNOWN
        except WRITE_FAILED as error:
            outcome = await asyncio.get_running_loop().run_in_executor(
                self.blocking, self.app.queue, ref, purpose, via, error,
            )
        return self.app.answer(ref, purpose, outcome)

    async def _unsubscribe_group(self, asks: list[tuple[int, str]]) -> list[bool | SubscriptionNotFound]:
        """The group commit's write (app.py ``_unsubscribe_group``, on the loop): the
        group queued on the loop's connection, or else written to the database."""
        try:
            await self.queue.enqueue(self.app.unsubscribes_asked(asks))
        except redis_lib.RedisError as error:
            return await asyncio.get_running_loop().run_in_executor(
                self.blocking, self.app.unsubscribe_not_queued, asks, error,
            )
        return self.app.unsubscribe_queued(asks)

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                self.close()
                self.app.engine.dispose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def stop(self) -> None:
        """On the loop, before :meth:`close`: the groups queued so far written, and the
        loop's Redis connection closed."""
        await self.commits.close()
        await self.queue.close()

    def close(self) -> None:
        """Wait for the blocking calls under way and the queue applier's pass."""
        self.blocking.shutdown(wait=True)
        self.app.close()


def create_asgi_app(**options) -> AsgiEndpoint:
    """gunicorn's factory (``'unsubscribe_web.asgi:create_asgi_app()'``): each worker
    process builds its own app, engine and Redis connections."""
    endpoint = AsgiEndpoint(create_app(**options))
    if warning := redis_persistence_warning(endpoint.app.redis):
        log.warning("unsubscribe endpoint: %s", warning)
    return endpoint


def redis_persistence_warning(redis: redis_lib.Redis) -> str | None:
    """What the operator must hear when Redis would lose answered unsubscribes on a
    restart (they wait there until the queue applier writes them); None when it keeps
    them, or cannot be asked (``CONFIG`` refused by a managed Redis, or Redis away)."""
    try:
        appendonly = redis.config_get("appendonly").get("appendonly")
    except redis_lib.RedisError:
        return None
    if appendonly in ("no", b"no"):
        return ("Redis runs without appendonly: unsubscribes answered but not yet written to the database "
                "would be lost if it restarted (set appendonly yes)")
    return None


async def _read_body(receive) -> bytes:
    """The request body, whole; :class:`BodyTooLargeNow` past :data:`MAX_BODY` (chunked
    bodies included: gunicorn has decoded them)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise BodyTooLargeNow
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _header(scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return ""


def _environ(scope, method: str, body: bytes) -> dict[str, Any]:
    """What the WSGI app reads of a request, for the paths that run on the thread pool."""
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": scope["path"],
        "QUERY_STRING": scope["query_string"].decode("latin-1"),
        "CONTENT_TYPE": _header(scope, b"content-type"),
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }


async def _send(send, response: pages.Response, *, head: bool) -> None:
    await send({
        "type": "http.response.start",
        "status": int(response.status[:3]),
        "headers": [(name.encode("latin-1"), value.encode("latin-1")) for name, value in response.headers()],
    })
    await send({"type": "http.response.body", "body": b"" if head else response.body})
