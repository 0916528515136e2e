"""Bluesky against a real AT Protocol network: @atproto/dev-env (PLC, PDS and AppView) on loopback.

The network runs under Node 22 from the folder ``.ci/services`` installs
(``/opt/lanyard-atproto``, or ``LANYARD_ATPROTO_DEV_ENV``), on a PostgreSQL database and a
Redis server of its own that the fixture makes and removes. Accounts are made on the
PDS and followed there; the import reads them from the AppView as it would from
public.api.bsky.app.
"""

from __future__ import annotations

import ipaddress
import json
import os
import queue
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from digest.accounts.env import AccountsEnv
from digest.accounts.imports import follows_import_source
from digest.accounts.linking import account_link, identity_find
from digest.accounts.sources import source_parse
from digest.http import HttpClient, HttpConfig
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.digest.accounts.conftest import BASE_URL, NOW
from tests.digest.accounts.helpers import follows

DEV_ENV = Path(os.environ.get("LANYARD_ATPROTO_DEV_ENV", "/opt/lanyard-atproto"))
NODE = DEV_ENV / "node_modules" / "node" / "bin" / "node"
SCRIPT = Path(__file__).resolve().parents[2] / "standins" / "atproto_network.js"
STARTUP = 300  # seconds: the network migrates two databases and indexes the seed

pytestmark = pytest.mark.skipif(
    not (DEV_ENV / ".ready").exists(),
    reason=f"@atproto/dev-env under Node 22 is not installed in {DEV_ENV} (bash .ci/services installs it)",
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def own_redis():
    """A Redis server of the network's own (it would write to db 0 of a shared one)."""
    port = _free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL)
    yield f"127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture
def atproto(own_redis):
    database = create_postgres_database()
    seed = {"accounts": ["alice", "bob", "carol", "dave"],
            "follows": [["alice", "bob"], ["alice", "carol"], ["alice", "dave"], ["bob", "alice"]]}
    env = {**os.environ, "DB_POSTGRES_URL": database, "REDIS_HOST": own_redis,
           "NODE_PATH": str(DEV_ENV / "node_modules"), "LOG_ENABLED": "false"}
    network = subprocess.Popen([str(NODE), str(SCRIPT), json.dumps(seed)], cwd=DEV_ENV, env=env, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(network.stdout.readline()), daemon=True).start()
    try:
        try:
            first = lines.get(timeout=STARTUP)
        except queue.Empty:
            first = ""
        if not first.strip():
            network.kill()
            pytest.fail(f"the AT Protocol network did not start: {network.stderr.read()[-500:]}")
        yield json.loads(first)
    finally:
        if network.poll() is None:
            network.stdin.close()
            try:
                network.wait(timeout=60)
            except subprocess.TimeoutExpired:
                network.kill()
                network.wait()
        drop_postgres_database(database)


def test_follows_come_from_a_real_appview(engine, graph, people, atproto):
    loopback = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
    with HttpClient(HttpConfig(allow_networks=loopback, deadline=20.0)) as http:
        env = AccountsEnv(engine=engine, http=http, graph=graph, base_url=BASE_URL,
                          bluesky_appview_url=atproto["appview"])
        ids = people("alice", "bob", "carol")
        for name in ("bob", "carol"):
            identity = identity_find(env, source=source_parse(f"bluesky:{name}.test"))
            assert identity.external_id == atproto["dids"][f"{name}.test"]  # the handle resolved to its DID
            account_link(env, person_id=ids[name], identity=identity, verified_via=None, added_by="test", now=NOW)
        result = follows_import_source(env, person_id=ids["alice"], source=source_parse("bluesky:alice.test"),
                                       now=NOW, added_by="test")
    assert (result.fetched, result.matched, result.added) == (3, 2, 2)  # dave is nobody's here: kept by DID
    assert follows(engine, ids["alice"]) == {(ids["bob"], "bluesky"), (ids["carol"], "bluesky")}
    assert graph.follows(ids["alice"]) == {ids["bob"], ids["carol"]}
