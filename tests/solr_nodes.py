"""SolrCloud nodes dying mid-run, for the tests of the digest run and the site search.

Two ways: :func:`node_dies` stops one node of the session's SolrCloud (tests/conftest.py
``solr_cloud``, one JVM) gracefully, so it leaves ZooKeeper; :class:`CloudProcesses` is a
SolrCloud of three JVMs (ZooKeeper, two nodes: the runner's "zk" and "node" modes) whose
:meth:`CloudProcesses.kill` SIGKILLs a node: nothing deregisters it, ZooKeeper lists it as
live until its session expires, and the other node keeps routing to it until then.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from digest.search.solr_admin import Shape, SolrAdmin
from digest.search.solr_runner import SolrRunner, start_solr

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


class CloudProcesses:
    """ZooKeeper and two Solr nodes, each its own JVM; the collection ``lanyard_1`` (2 shards
    x 2 replicas, each shard on both nodes) behind the alias ``lanyard``, as ``solr_cloud``.
    Use it as a context manager: every JVM it started is gone after the block."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.zk: SolrRunner | None = None
        self.nodes: list[SolrRunner] = []

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(node.urls[0] for node in self.nodes)

    @property
    def url(self) -> str:
        """What LANYARD_SEARCH_URL takes: the alias on both nodes."""
        return ",".join(self.urls)

    def __enter__(self) -> CloudProcesses:
        try:
            self.zk = start_solr("zk", self.workdir / "zk")
            with ThreadPoolExecutor(2) as pool:  # the two JVMs start side by side
                starting = [pool.submit(self._start_node, index) for index in range(2)]
            self.nodes = [future.result() for future in starting if future.exception() is None]
            for future in starting:
                if future.exception() is not None:
                    raise future.exception()
            admin = SolrAdmin(self.urls, timeout=DEADLINE)
            try:
                admin.create_collection("lanyard_1", Shape(config="lanyard", shards=2, replicas=2), timeout=DEADLINE)
                admin.point_alias("lanyard_1")
                self._check_placement(admin)
            finally:
                admin.close()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start_node(self, index: int, port: int = 0) -> SolrRunner:
        assert self.zk is not None
        return start_solr("node", self.workdir / f"node{index}", zk=self.zk.zk, port=port)

    def _check_placement(self, admin: SolrAdmin) -> None:
        """Either node may die only if each shard has a replica on both."""
        shards = admin.get("/admin/collections", action="CLUSTERSTATUS")["cluster"]["collections"]["lanyard_1"]
        for name, shard in shards["shards"].items():
            nodes = {replica["node_name"] for replica in shard["replicas"].values()}
            assert len(nodes) == 2, f"{name} has its replicas on {nodes}"

    def node_name(self, index: int) -> str:
        """The node's name in ZooKeeper's live_nodes (host:port_solr)."""
        return f"{urlsplit(self.urls[index]).netloc}_solr"

    def live_nodes(self) -> set[str]:
        admin = SolrAdmin(self.urls, timeout=30)
        try:
            return set(admin.get("/admin/collections", action="CLUSTERSTATUS")["cluster"]["live_nodes"])
        finally:
            admin.close()

    def kill(self, index: int) -> None:
        """SIGKILL the node's JVM (no shutdown hook, no goodbye to ZooKeeper) and reap it."""
        process = self.nodes[index].process
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=60)

    @contextmanager
    def killed_mid_request(self, index: int, deadline: float = 60) -> Iterator[Kill]:
        """Kill the node while a request to it is in flight: freeze its JVM (SIGSTOP), let the
        block send requests, and SIGKILL it as soon as one waits unread in its socket (or
        at the deadline). The kernel then resets that connection under the client. The
        :class:`Kill` yielded says whether a request was caught and whether ZooKeeper
        still listed the node right after the kill (read at once: on a loaded machine the
        block may outlast the node's ZooKeeper session)."""
        kill = Kill(caught=threading.Event())
        port = urlsplit(self.urls[index]).port
        os.kill(self.nodes[index].process.pid, signal.SIGSTOP)

        def kill_when_asked() -> None:
            end = time.monotonic() + deadline
            while not kill.caught.is_set() and time.monotonic() < end:
                if unread_requests(port):
                    kill.caught.set()
                else:
                    time.sleep(0.01)
            self.kill(index)
            kill.still_listed = self.node_name(index) in self.live_nodes()

        killer = threading.Thread(target=kill_when_asked, name="solr-node-killer")
        killer.start()
        try:
            yield kill
        finally:
            killer.join()

    def restart(self, index: int) -> None:
        """Start the killed node again on its port and Solr home (it finds its cores and
        rejoins), then wait until every replica is active on a live node."""
        port = urlsplit(self.urls[index]).port or 0
        self.nodes[index].close()
        self.nodes[index] = self._start_node(index, port)
        wait_healthy(self)

    def close(self) -> None:
        for runner in [*self.nodes, *([self.zk] if self.zk else [])]:
            runner.close()


@dataclass
class Kill:
    """What :meth:`CloudProcesses.killed_mid_request` saw: a request caught in flight, and
    the node still listed live in ZooKeeper right after its SIGKILL (not deregistered)."""

    caught: threading.Event
    still_listed: bool = False


def unread_requests(port: int | None) -> int:
    """Established connections to local ``port`` with bytes the listening process has not
    read (/proc/net/tcp{,6} rx_queue): a frozen server's pending requests."""
    waiting = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:
                local, state, queues = row.split()[1], row.split()[3], row.split()[4]
                if int(local.rsplit(":", 1)[1], 16) == port and state == "01" and int(queues.split(":")[1], 16):
                    waiting += 1
    return waiting
