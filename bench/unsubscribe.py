"""Benchmark: the unsubscribe endpoint over real HTTP on loopback, served by gunicorn
the way README.md deploys it (unsubscribe_web/gunicorn_conf.py: the ``asgi`` worker), on
PostgreSQL and Redis.

    .venv/bin/python bench/unsubscribe.py [--subscriptions 20000] [--requests 20000]
                                          [--concurrency 16] [--seconds 20] [--quick]
                                          [--workers 2] [--worker-class asgi]

It makes a throwaway PostgreSQL database (migrated with ``lanyard migrate``) and a
throwaway Redis key prefix, both removed at the end. Phases, each bounded by a number
of requests and a time limit:

* one-click POSTs, each for a different subscription (every one writes a status change
  and an audit row),
* one-click POSTs again for the same subscriptions (idempotent: nothing more to write),
* GETs of the confirmation page (one database read),
* the baseline: GETs of ``/healthz``, which touches no store (the ceiling of gunicorn
  and this client on this machine).

The goal (issue 22): the first one-click POSTs at least half the baseline's requests/s,
each still durable before its answer (queued in Redis with the suppression set) and
applied once with its audit row. After the first POSTs it waits for the endpoint's
queue applier to write them all to the database and prints how far behind it was and
the rate at which the changes reached the database. It also prints how many database
transactions were committed (PostgreSQL's own count, read after gunicorn stopped):
the applier's batches make that far fewer than the POSTs.

The load generator is a plain asyncio HTTP/1.1 client with keep-alive connections in
this process; it shares the machine's CPUs with gunicorn, PostgreSQL and Redis, so
the figures are a floor. Last, the ratio of the endpoint's token verification
(``TokenSigner.verify``) to a bare itsdangerous ``loads`` of the same token.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import redis
from itsdangerous import URLSafeSerializer
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
# Python puts this script's folder first on the path, where bench/digest.py would
# shadow the digest package: the project root goes there instead.
sys.path[0] = str(ROOT)

from digest.config import load_settings
from digest.stores import db
from digest.stores.keys import RedisKeys
from digest.tokens import SubscriptionRef, TokenSigner, _CompactJSON
from digest.unsubscribe_queue import unsubscribe_queue_length

POSTGRES_URL = os.environ.get("LANYARD_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("LANYARD_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = "bench-secret-key-0123456789-0123456789-abcdef"
ONE_CLICK = b"List-Unsubscribe=One-Click"
FIRST = "one-click POST (first)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscriptions", type=int, default=20_000,
                        help="the first POST phase unsubscribes each once, so at most this many requests")
    parser.add_argument("--requests", type=int, default=20_000, help="at most this many per phase")
    parser.add_argument("--seconds", type=float, default=20.0, help="at most this long per phase")
    parser.add_argument("--concurrency", type=int, default=16, help="keep-alive connections")
    parser.add_argument("--quick", action="store_true", help="a tiny run proving the bench works (no figures)")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: gunicorn_conf.py's)")
    parser.add_argument("--worker-class", choices=["asgi", "gthread"], default=None,
                        help="gthread: the WSGI app on 8 threads a worker, as deployed before the asgi worker "
                             "(default: gunicorn_conf.py's)")
    args = parser.parse_args()
    if args.quick:
        args.subscriptions, args.requests, args.seconds = 1_000, 500, 3.0

    name = f"lanyard_bench_{secrets.token_hex(4)}"
    database_url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    prefix = f"lanyard-bench-{secrets.token_hex(4)}:"
    with tempfile.TemporaryDirectory(prefix="lyb") as data_dir:
        env = {
            **os.environ, "LANYARD_DATABASE_URL": database_url, "LANYARD_REDIS_URL": REDIS_URL,
            "LANYARD_REDIS_PREFIX": prefix, "LANYARD_SECRET_KEYS": SECRET, "LANYARD_DATA_DIR": data_dir,
        }
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        try:
            run(args, env)
        finally:
            with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            client = redis.Redis.from_url(REDIS_URL)
            keys = list(client.scan_iter(match=f"{prefix}*"))
            if keys:
                client.delete(*keys)


def run(args, env) -> None:
    settings = load_settings(env)
    subprocess.run(
        [str(Path(sys.executable).with_name("lanyard")), "migrate"], env=env, check=True, capture_output=True
    )
    engine = db.make_engine(settings.database.primary)
    ids = insert_subscriptions(engine, args.subscriptions)
    engine.dispose()  # its backends exit, so their commits are counted before the endpoint's
    signer = TokenSigner(settings.secret_keys)
    tokens = [signer.sign("unsubscribe", SubscriptionRef(i, "daily")) for i in ids]

    port = free_port()
    # gunicorn's log goes to a file: a pipe nobody reads would fill and stop its workers.
    log_path = Path(env["LANYARD_DATA_DIR"]) / "gunicorn.log"
    with open(log_path, "wb") as log_file:
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "-c", "python:unsubscribe_web.gunicorn_conf",
             "--bind", f"127.0.0.1:{port}", *gunicorn_options(args),
             app_spec(args.worker_class)],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log_file,
        )
    try:
        wait_for_port(port, server, log_path)
        print(f"gunicorn: {describe_gunicorn(args)}; {args.concurrency} keep-alive connections; "
              f"{len(tokens)} subscriptions on PostgreSQL; loopback port {port}")
        commits_before = database_commits(database_name(env))
        posts = [request("POST", f"/u/{t}", ONE_CLICK) for t in tokens]
        gets = [request("GET", f"/u/{t}") for t in tokens]
        asyncio.run(load(port, posts[:200], args.concurrency, 200, 10))  # warm the workers' pools
        meter = CpuMeter(server.pid)

        def phase(label: str, requests: list[bytes], limit: int):
            meter.start()
            result = asyncio.run(load(port, requests, args.concurrency, limit, args.seconds))
            rate = report(label, result)
            if label == FIRST:  # its CPU includes the applier's writes, until they are all done
                report_applied(env, len(result[0]), result[2])
            print(meter.line(len(result[0])))
            return result, rate

        result, first_rate = phase(FIRST, posts[200:], min(args.requests, len(posts) - 200))
        done = posts[:200 + len(result[0])]  # only subscriptions already unsubscribed
        again, _ = phase("one-click POST (again)", done, args.requests)
        got, _ = phase("GET confirmation page", gets, args.requests)
        # The ceiling on this machine: the same server and client, a page needing no store.
        _, baseline = phase("baseline: /healthz", [request("GET", "/healthz")], args.requests)
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
    posts_sent = 200 + len(result[0]) + len(again[0])
    commits = database_commits(database_name(env)) - commits_before
    print(f"database: {commits} transactions committed for {posts_sent} POSTs and {len(got[0])} GETs "
          f"(a GET is one; a batch of queued unsubscribes is one)")
    problems = [line for line in log_path.read_text(errors="replace").splitlines()
                if " WARNING " in line or " ERROR " in line or "Traceback" in line]
    if problems:
        print(f"gunicorn logged {len(problems)} warnings or errors; the first: {problems[0][:300]}")
    ratio = first_rate / baseline
    verdict = "not judged (--quick: too few requests)" if args.quick else "MET" if ratio >= 0.5 else "MISSED"
    print(f"goal: one-click POST >= 0.5x the baseline's requests/s: {verdict} (ratio {ratio:.2f})")
    with engine.connect() as connection:
        changed = connection.execute(select(func.count()).select_from(db.unsubscribe_event)).scalar_one()
        unsubscribed = connection.execute(
            select(func.count()).select_from(db.subscription).where(db.subscription.c.status == "unsubscribed")
        ).scalar_one()
    suppressed = redis.Redis.from_url(REDIS_URL).scard(RedisKeys(settings.redis.prefix).unsubscribe_suppressed)
    print(
        f"check: {unsubscribed} subscriptions unsubscribed, {changed} audit rows, {suppressed} in the suppression set"
    )
    engine.dispose()
    verify_ratio(signer, tokens[0])
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


def report_applied(env, posts: int, elapsed: float) -> None:
    """How far the database was behind the answers: the changes still queued at the last
    answer, how long the queue applier took to write them, and the rate at which the
    first POSTs reached the database (answers and writes both done)."""
    client = redis.Redis.from_url(REDIS_URL)
    prefix = env["LANYARD_REDIS_PREFIX"]
    started = time.perf_counter()
    behind = unsubscribe_queue_length(client, prefix=prefix)
    while (left := unsubscribe_queue_length(client, prefix=prefix)) and time.perf_counter() - started < 120:
        time.sleep(0.005)
    drained = time.perf_counter() - started
    print(f"{'in the database':>24}: {posts / (elapsed + drained):8.0f} requests/s (the first POSTs' changes: "
          f"{behind} still queued at the last answer, all written {drained:.2f}s later"
          f"{'' if not left else f'; {left} NOT WRITTEN after 120 s'})")


def insert_subscriptions(engine, count: int) -> list[int]:
    now = dt.datetime.now(dt.UTC)
    people = [{"id": i, "name": f"Bench {i}", "handle": f"bench{i}", "bio": "", "avatar_url": "", "timezone": "UTC",
               "cache_version": 1, "user_id": None} for i in range(1, count + 1)]
    subscriptions = [{"id": i, "person_id": i, "list": "daily", "status": "active", "email": f"bench{i}@example.com",
                      "send_hour": 7, "last_sent_date": None, "created_at": now, "updated_at": now}
                     for i in range(1, count + 1)]
    with engine.begin() as connection:
        db.bulk_insert(connection, db.person, people, list(people[0]))
        db.bulk_insert(connection, db.subscription, subscriptions, list(subscriptions[0]))
    return [s["id"] for s in subscriptions]


def request(method: str, path: str, body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if method == "POST":
        head += f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


async def load(port: int, requests: list[bytes], concurrency: int, limit: int, seconds: float):
    """Send up to ``limit`` requests (cycling through ``requests``) for at most ``seconds``."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    next_index = 0
    deadline = time.perf_counter() + seconds

    async def connection():
        nonlocal next_index
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while next_index < limit and time.perf_counter() < deadline:
                data = requests[next_index % len(requests)]
                next_index += 1
                started = time.perf_counter()
                writer.write(data)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                length = 0
                close = False
                for line in head.split(b"\r\n")[1:]:
                    lowered = line.lower()
                    if lowered.startswith(b"content-length:"):
                        length = int(line[15:])
                    elif lowered.startswith(b"connection:") and b"close" in lowered:
                        close = True
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1
                if close:
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return latencies, statuses, time.perf_counter() - started


def app_spec(worker_class: str | None) -> str:
    """The application as README.md deploys it (ASGI), or the WSGI one for gthread."""
    if worker_class == "gthread":
        return "unsubscribe_web.app:create_app()"
    return "unsubscribe_web.asgi:create_asgi_app()"


def database_name(env) -> str:
    return env["LANYARD_DATABASE_URL"].rsplit("/", 1)[1]


def database_commits(name: str) -> int:
    """PostgreSQL's count of committed transactions in the bench's database (a backend
    reports it when it goes idle or exits: read it after gunicorn stopped)."""
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        row = connection.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = %s", [name]).fetchone()
    return int(row[0]) if row else 0


def report(label: str, result) -> float:
    """Print a phase's figures; returns its requests/s."""
    latencies, statuses, elapsed = result
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    codes = ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items()))
    rate = len(latencies) / elapsed
    print(f"{label:>24}: {rate:8.0f} requests/s, p50 {p50:5.1f} ms, p99 {p99:5.1f} ms "
          f"({len(latencies)} requests in {elapsed:.1f}s; {codes})")
    return rate


class CpuMeter:
    """CPU time per request of each part of the run (the endpoint's gunicorn processes,
    PostgreSQL, Redis, this client), from /proc: where a phase's time goes."""

    def __init__(self, gunicorn_pid: int):
        self.gunicorn_pid = gunicorn_pid
        self.before: dict[str, int] = {}

    def start(self) -> None:
        self.before = self._ticks()

    def line(self, requests: int) -> str:
        after = self._ticks()
        per_tick = 1e6 / os.sysconf("SC_CLK_TCK") / max(requests, 1)
        parts = ", ".join(f"{part} {(after.get(part, 0) - self.before.get(part, 0)) * per_tick:.0f}"
                          for part in ("endpoint", "PostgreSQL", "Redis", "client"))
        return f"{'':>24}  CPU µs per request: {parts}"

    def _ticks(self) -> dict[str, int]:
        ticks: dict[str, int] = {}
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:  # gone meanwhile
                continue
            name = stat[stat.index("(") + 1:stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2:].split()
            part = ("endpoint" if self.gunicorn_pid in (int(pid), int(fields[1]))  # gunicorn or one of its workers
                    else "PostgreSQL" if name.startswith("postgres") else "Redis" if name.startswith("redis-server")
                    else "client" if int(pid) == os.getpid() else None)
            if part:
                ticks[part] = ticks.get(part, 0) + int(fields[11]) + int(fields[12])  # utime + stime
        return ticks


def verify_ratio(signer: TokenSigner, token: str, rounds: int = 50_000) -> None:
    bare = URLSafeSerializer(SECRET, salt="lanyard.unsubscribe", serializer=_CompactJSON)
    ref = signer.verify("unsubscribe", token)
    assert bare.loads(token) == [ref.subscription_id, ref.list_name]

    def timed(call) -> float:
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            for _ in range(rounds):
                call(token)
            best = min(best, time.perf_counter() - started)
        return best / rounds * 1e6

    ours = timed(lambda t: signer.verify("unsubscribe", t))
    baseline = timed(bare.loads)
    print(f"verify: endpoint path (TokenSigner.verify) {ours:.1f} µs, bare itsdangerous loads {baseline:.1f} µs; "
          f"ratio {ours / baseline:.2f}")


def gunicorn_options(args) -> list[str]:
    options = []
    if args.workers is not None:
        options += ["--workers", str(args.workers)]
    if args.worker_class is not None:
        options += ["--worker-class", args.worker_class]
    if args.worker_class == "gthread":
        options += ["--threads", "8"]
    return options


def describe_gunicorn(args) -> str:
    from unsubscribe_web import gunicorn_conf as conf

    workers = conf.workers if args.workers is None else args.workers
    worker_class = args.worker_class or conf.worker_class
    return f"{workers} {worker_class} workers" + (" x 8 threads" if worker_class == "gthread" else "")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, server: subprocess.Popen, log_path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited: {log_path.read_text(errors='replace')[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("gunicorn did not start listening")


if __name__ == "__main__":
    main()
