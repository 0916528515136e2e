"""Several worker hosts on one machine: each `lanyard worker` in a network namespace of
its own (tests/faults/netns.py), reaching PostgreSQL, Redis, the broker and the SMTP
server over veth pairs, so that one host can be cut off and healed while its processes
keep running, the way a machine of a real deployment loses its network.

Each test: a run of a few hundred digests through one worker on each of two hosts and
the beat (in the root namespace); mid-run one host is cut off; the run must end
"finished" within the bound stated, every due subscriber with exactly one email (README
"Faults" names the one instant where a cut can repeat a message), and `lanyard runs
show` must tell what happened.
"""

from __future__ import annotations

import os
import secrets
import time
from collections import Counter

import psycopg
import pytest

from digest.demo.seed import SeedPlan, seed
from digest.graph.store import Graph
from digest.graph.sync import rebuild
from digest.runs.planning import RunRequest, run_start
from digest.runs.runtime import schedule_set
from tests.conftest import TEST_SECRET, django_migrate
from tests.faults.conftest import TEMPLATE, Stack, redis_lib_client, wait_for
from tests.faults.netns import Hosts, NetnsRefused
from tests.faults.servers import PostgresCluster, RedisServer
from tests.faults.test_faults import FINISH_BOUND, check_each_once, received, runs_show, wait_finished
from tests.scheduler.conftest import DAY, run_row
from tests.smtp_server import SmtpTestServer

pytestmark = pytest.mark.slow

CHUNK_TIMEOUT = 10  # seconds: a cut longer than this has its claims taken over
CUT = CHUNK_TIMEOUT + 8  # how long a host stays cut off
MAIL_TIMEOUT = 3  # seconds per SMTP step: well under half of CHUNK_TIMEOUT
IN_FLIGHT = 1.0  # a repeat is allowed only for a message first accepted this close before the cut


@pytest.fixture(scope="module")
def net():
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root (`ip netns add`); these tests run as root in CI")
    hosts = Hosts(2)
    try:
        try:
            hosts.make()
        except NetnsRefused as refused:
            pytest.skip(f"this machine refuses network namespaces: {refused}")
        yield hosts
    finally:
        hosts.remove()


@pytest.fixture(scope="module")
def net_pg(net):
    cluster = PostgresCluster(also=net.service)
    cluster.init()
    cluster.start()
    try:
        cluster.create_database(TEMPLATE)
        django_migrate(cluster.url(TEMPLATE), cluster.root / "migrate")
        yield cluster
    finally:
        try:
            cluster.stop()
        finally:
            cluster.remove()


class ServiceSmtp(SmtpTestServer):
    """The counting SMTP server, on the service address the hosts reach; ``senders``
    counts the accepted messages by the address of the host that sent them."""

    def __init__(self, host: str):
        self.host = host
        super().__init__()
        self.senders: Counter[str] = Counter()
        accept = self.handler.handle_DATA

        async def handle_data(server, session, envelope):
            reply = await accept(server, session, envelope)
            if reply.startswith("250"):
                self.senders[session.peer[0]] += 1
            return reply

        self.handler.handle_DATA = handle_data


@pytest.fixture
def net_stack(net, net_pg, tmp_path):
    name = f"lanyard_hosts_{secrets.token_hex(4)}"
    database = net_pg.create_database(name, template=TEMPLATE)
    redis_server = RedisServer(tmp_path / "redis", also=net.service)
    broker = RedisServer(tmp_path / "broker", also=net.broker)
    smtp = ServiceSmtp(net.service)
    redis_server.start()
    broker.start()
    smtp.start()
    prefix = f"hst{secrets.token_hex(3)}:"
    env = {
        "LANYARD_DATA_DIR": str(tmp_path / "var"), "LANYARD_DATABASE_URL": database,
        "LANYARD_REDIS_URL": redis_server.url(0), "LANYARD_BROKER_URL": broker.url(0),
        "LANYARD_REDIS_PREFIX": prefix, "LANYARD_MAIL_URL": f"{smtp.url}?timeout={MAIL_TIMEOUT}",
        "LANYARD_SECRET_KEYS": TEST_SECRET,
    }
    # What a worker on a host reads: the same stores, over its veth pair.
    remote = {
        "LANYARD_DATABASE_URL": net_pg.url(name, host=net.service),
        "LANYARD_REDIS_URL": redis_server.url(0, host=net.service),
        "LANYARD_BROKER_URL": broker.url(0, host=net.broker),
    }
    (tmp_path / "logs").mkdir()
    stack = Stack(env, tmp_path / "logs")
    stack.smtp, stack.net, stack.remote = smtp, net, remote
    try:
        seed(stack.engine, SeedPlan(people=600, events=80, subscribers=240, seed=11, today=DAY))
        rebuild(Graph(redis_lib_client(redis_server), prefix), stack.engine)
        schedule_set(stack.engine, chunk_size=15, rate_limit=30, chunk_timeout=CHUNK_TIMEOUT, max_attempts=8,
                     lists="")
        yield stack
    finally:
        for host in net.hosts:  # healed whatever the test left cut
            net.heal(host)
            try:
                net.heal_broker(host)
            except RuntimeError:
                pass
        stack.close()
        smtp.stop()
        broker.stop()
        redis_server.stop()
        with psycopg.connect(net_pg.url(), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_on_hosts(stack) -> int:
    """The run, with one worker on each host and the beat in the root namespace."""
    run_id = start_run_without_workers(stack)
    for host in stack.net.hosts:
        stack.workers.start(concurrency=1, on=host.command, env=stack.remote)
    return run_id


def start_run_without_workers(stack) -> int:
    run_id = run_start(stack.engine, stack.enqueue, request=RunRequest(digest_date=DAY, chunk_size=0))
    stack.start(workers=0)  # the beat
    return run_id


def wait_mid_run(stack, arrived: int = 40) -> None:
    wait_for(lambda: len(received(stack.smtp)) >= arrived, timeout=FINISH_BOUND,
             message=f"{arrived} digests to arrive\n{stack.logs()}")


def in_flight_at(cut_at: float):
    """A repeat is the README's stated window only when its first copy was accepted in
    the instant before the cut (the server had it, the mark had not reached the ledger)."""
    return lambda recipient, first_at: cut_at - IN_FLIGHT <= first_at <= cut_at + 0.05


def test_a_worker_host_cut_off_past_chunk_timeout_and_healed(net_stack):
    stack = net_stack
    run_id = start_on_hosts(stack)
    wait_mid_run(stack)
    host = stack.net.hosts[0]
    stack.fault_at = cut_at = time.time()
    stack.net.cut(host)
    # The other host takes the cut one's chunks and claims over once they are stale.
    sent_before = stack.smtp.senders[host.address]
    assert sent_before > 0, f"the host to be cut sent nothing before: {stack.smtp.senders}"
    # Its chunk is found lost (the claim older than chunk_timeout, at a beat's sweep) and
    # the other host takes it over, and its ledger claims as they go stale.
    wait_for(lambda: "queued again" in run_row(stack.engine, run_id)["notes"], timeout=FINISH_BOUND,
             message=f"the cut host's chunk to be taken over\n{stack.logs()}")
    time.sleep(max(0.0, cut_at + CUT - time.time()))  # at least the cut's stated length
    stack.net.heal(host)  # its worker process ran all along, and now finishes what it had
    wait_finished(stack, run_id)
    stack.workers.stop_all()  # anything the healed host still had in hand has arrived by now
    repeats = check_each_once(stack, stack.smtp, run_id, may_repeat=in_flight_at(cut_at))
    assert sum(repeats.values()) <= 1, repeats
    shown = runs_show(stack, run_id)
    assert "queued again" in shown, shown
    assert sum(stack.smtp.senders.values()) == len(received(stack.smtp))
    print(f"host cut off {CUT}s: finished {time.time() - cut_at:.0f}s after the cut; sent by host: "
          f"{dict(stack.smtp.senders)}; repeated {sum(repeats.values())}")


def test_the_brokers_redis_cut_off_from_one_host(net_stack):
    stack = net_stack
    run_id = start_on_hosts(stack)
    wait_mid_run(stack)
    host = stack.net.hosts[0]
    stack.fault_at = cut_at = time.time()
    stack.net.cut_broker(host)
    before = len(received(stack.smtp))
    wait_for(lambda: len(received(stack.smtp)) > before + 20, timeout=FINISH_BOUND,
             message=f"the other host to go on sending\n{stack.logs()}")
    time.sleep(max(0.0, cut_at + CUT - time.time()))
    stack.net.heal_broker(host)
    wait_finished(stack, run_id)
    stack.workers.stop_all()
    repeats = check_each_once(stack, stack.smtp, run_id, may_repeat=in_flight_at(cut_at))
    assert sum(repeats.values()) <= 1, repeats
    runs_show(stack, run_id)
    print(f"broker cut off {CUT}s: finished {time.time() - cut_at:.0f}s after the cut; sent by host: "
          f"{dict(stack.smtp.senders)}; repeated {sum(repeats.values())}")
