"""A real endpoint on loopback (the threaded development server, in a thread) over the
test database and Redis, and subscriptions to unsubscribe from."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import socket
import sys
import threading
import time
from contextlib import contextmanager
from types import SimpleNamespace

import httpx
import pytest
from gunicorn.asgi.protocol import ASGIProtocol
from gunicorn.config import Config
from gunicorn.glogging import Logger

from digest.stores import db
from digest.tokens import SubscriptionRef, TokenSigner
from digest.unsubscribe_queue import unsubscribe_queue_length
from unsubscribe_web.app import create_app
from unsubscribe_web.asgi import AsgiEndpoint
from unsubscribe_web.devserver import make_dev_server

_numbers = itertools.count(1)
NOW = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


# The servers the endpoint's behaviour is tested under: "wsgi" (the development server,
# which the site's own development server mounts too) and "asgi" (production's:
# gunicorn's asyncio protocol, in process). The ``server`` fixture picks one per test.
SERVERS = ("wsgi", "asgi")
_serving = {"server": "wsgi"}


@pytest.fixture(params=SERVERS)
def server(request):
    """Runs the test once per server: :func:`running` serves the app on it."""
    _serving["server"] = request.param
    try:
        yield request.param
    finally:
        _serving["server"] = "wsgi"


@contextmanager
def running(app):
    """Serve ``app`` on a free loopback port, on the server the test runs under; yields its
    base URL. The app (its queue applier) is closed afterwards."""
    if _serving["server"] == "asgi":
        with running_asgi(AsgiEndpoint(app)) as url:
            yield url
        return
    server = make_dev_server(app, "127.0.0.1", 0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
        app.close()


def wait_applied(redis_client, prefix: str = "lanyard:", timeout: float = 20.0) -> None:
    """Wait until the endpoint's queue applier has written every queued change to the
    database (the queue, processing list included, is empty only after its commit)."""
    deadline = time.monotonic() + timeout
    while unsubscribe_queue_length(redis_client, prefix=prefix):
        assert time.monotonic() < deadline, "the queued changes were not applied in time"
        time.sleep(0.01)


@contextmanager
def running_asgi(endpoint: AsgiEndpoint):
    """``endpoint`` on gunicorn's own ASGI protocol (what its ``asgi`` worker runs), on an
    event loop in a thread; yields its base URL."""
    loop = asyncio.new_event_loop()
    listener = socket.create_server(("127.0.0.1", 0))
    worker = SimpleNamespace(
        cfg=Config(), log=Logger(Config()), asgi=endpoint, loop=loop, nr_conns=0, nr=0, alive=True, state={},
        max_requests=sys.maxsize,  # as a worker without max_requests: no restart, keep-alive kept
    )
    served = asyncio.run_coroutine_threadsafe(
        loop.create_server(lambda: ASGIProtocol(worker), sock=listener), loop,
    )
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = served.result(10)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        # Connections kept alive still have their tasks waiting for a next request: cancel
        # and await them before the loop stops (left pending, each logged "Task was
        # destroyed but it is pending!" when the loop was collected).
        asyncio.run_coroutine_threadsafe(_shut(server, endpoint), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
        endpoint.close()


async def _shut(server: asyncio.Server, endpoint: AsgiEndpoint) -> None:
    """As gunicorn's lifespan shutdown: the endpoint's groups written and its loop's Redis
    connection closed, then the connections' tasks."""
    server.close()
    await endpoint.stop()
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture
def endpoint(settings, engine, redis_client, server):
    """The endpoint on the test database and Redis; yields an httpx client on its URL."""
    app = create_app(settings, engine=engine, redis=redis_client)
    with running(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield client


@pytest.fixture
def signer(settings):
    return TokenSigner(settings.secret_keys)


@pytest.fixture
def make_subscription(engine):
    """make_subscription(list_name="daily", status="active", email=None) -> SubscriptionRef"""

    def make(list_name="daily", status="active", email=None) -> SubscriptionRef:
        n = next(_numbers)
        with engine.begin() as connection:
            person_id = connection.execute(db.person.insert().values(
                name=f"Ada {n}", handle=f"ada{n}", bio="", avatar_url="", timezone="UTC", cache_version=1,
            )).inserted_primary_key[0]
            subscription_id = connection.execute(db.subscription.insert().values(
                person_id=person_id, list=list_name, status=status, email=email or f"ada.lovelace{n}@example.com",
                send_hour=7, created_at=NOW, updated_at=NOW,
            )).inserted_primary_key[0]
        return SubscriptionRef(subscription_id, list_name)

    return make
