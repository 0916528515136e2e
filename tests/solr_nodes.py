"""Stopping one node of the session's SolrCloud (tests/conftest.py ``solr_cloud``) and
bringing it back whole, for the tests of a node dying mid-run."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from digest.search.solr_admin import SolrAdmin

DEADLINE = 180  # seconds for the node to come back and every replica to be active again


def unhealthy(admin: SolrAdmin) -> list[str]:
    """Replicas not active on a live node, as "collection/shard/replica state"."""
    cluster = admin.get("/admin/collections", action="CLUSTERSTATUS")["cluster"]
    live = set(cluster.get("live_nodes", ()))
    return [
        f"{name}/{shard_name}/{replica_name} {replica['state']}"
        for name, state in cluster["collections"].items()
        for shard_name, shard in state["shards"].items()
        for replica_name, replica in shard["replicas"].items()
        if replica["state"] != "active" or replica["node_name"] not in live
    ]


def wait_healthy(runner, deadline: float = DEADLINE) -> None:
    admin = SolrAdmin(runner.urls, timeout=10)
    end = time.monotonic() + deadline
    try:
        while bad := unhealthy(admin):
            if time.monotonic() > end:
                raise AssertionError(f"SolrCloud not whole again after {deadline}s: {bad}")
            time.sleep(0.2)
    finally:
        admin.close()


@contextmanager
def node_dies(runner, node: int = 0) -> Iterator[threading.Thread]:
    """Stop ``node`` from another thread while the block runs (join the thread to know it is
    down), then start it again and wait until every replica is active."""
    stopper = threading.Thread(target=runner.stop_node, args=(node,), name="solr-node-dies")
    stopper.start()
    try:
        yield stopper
    finally:
        stopper.join()
        runner.start_node(node)
        wait_healthy(runner)
