"""A real endpoint on loopback (the threaded development server, in a thread) over the
test database and Redis, and subscriptions to unsubscribe from."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from contextlib import contextmanager

import httpx
import pytest

from digest.stores import db
from digest.tokens import SubscriptionRef, TokenSigner
from unsubscribe_web.app import create_app
from unsubscribe_web.devserver import make_dev_server

_numbers = itertools.count(1)
NOW = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


@contextmanager
def running(app):
    """Serve ``app`` on a free loopback port; yields its base URL."""
    server = make_dev_server(app, "127.0.0.1", 0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def endpoint(settings, engine, redis_client):
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
