"""Fixtures for the accounts core: the three stand-ins on 127.0.0.2, a live graph, the services' env."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest

from digest.accounts.env import AccountsEnv
from digest.graph.store import Graph
from digest.http import HttpClient, HttpConfig
from digest.stores.keys import RedisKeys
from tests import factories
from tests.standins.bluesky import BlueskyStandIn
from tests.standins.github import GitHubStandIn
from tests.standins.mastodon import MastodonStandIn

ALLOWED = (ipaddress.ip_network("127.0.0.2/32"),)
NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)
BASE_URL = "https://lanyard.example"


@pytest.fixture
def github():
    with GitHubStandIn() as server:
        yield server


@pytest.fixture
def mastodon():
    with MastodonStandIn() as server:
        yield server


@pytest.fixture
def bluesky():
    with BlueskyStandIn() as server:
        yield server


@pytest.fixture
def graph(redis_client, settings):
    graph = Graph(redis_client, settings.redis.prefix)
    keys = RedisKeys(graph.prefix)
    redis_client.mset({keys.graph_live: 1, keys.graph(1).built: 1})  # an (empty) live generation
    return graph


@pytest.fixture
def http():
    client = HttpClient(HttpConfig(allow_networks=ALLOWED, deadline=3.0))
    yield client
    client.close()


@pytest.fixture
def waits():
    """The seconds the rate limits made the services wait (recorded, not slept)."""
    return []


@pytest.fixture
def env(engine, http, graph, github, bluesky, waits):
    return AccountsEnv(engine=engine, http=http, graph=graph, base_url=BASE_URL, github_api_url=github.base_url,
                       bluesky_appview_url=bluesky.base_url, sleep=waits.append,
                       handle_origin=lambda handle: bluesky.base_url)


@pytest.fixture
def people(engine):
    """people("ada", "bob") -> {"ada": id, "bob": id}"""

    def make(*handles: str) -> dict[str, int]:
        with engine.begin() as connection:
            return {h: factories.make_person(connection, handle=h, name=h.title()) for h in handles}

    return make
