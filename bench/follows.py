"""Benchmark: importing a GitHub follow list of 20,000 accounts across pages, matched against
100,000 people of whom 50,000 have linked accounts, on SQLite and on PostgreSQL.

    .venv/bin/python bench/follows.py [--people 100000] [--linked 50000] [--follows 20000] [--small 2000]
    .venv/bin/python bench/follows.py --tiny     # a quick run on a small data set: proves it works

The list comes from the GitHub stand-in (tests/standins/github.py, in a process of its
own: it keeps every request it answered, which must not count here) on loopback, in
pages of 100, through the guarded HTTP client; half of the followed accounts are linked
people's, half are nobody's here. For each database it prints the seconds and the peak
Python memory (tracemalloc) of:

* fetching the list alone (pages streamed into the import's staging table),
* the whole import (fetch, the one-transaction replace and matching, the graph edits),

for the small list and the full one. The goal: memory does not grow with the list
while it is fetched (the full list's fetch peak at most 1.5x the small list's; pages are
streamed, never held together). The whole import also holds the matched people's ids
to diff against the stored follows (bounded by the cap): its ratio is printed beside.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from functools import partial
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # bench/digest.py must not shadow the digest package

from digest.accounts.env import AccountsEnv
from digest.accounts.imports import _stage, follows_import, staging
from digest.accounts.values import Identity, ImportResult
from digest.config import load_settings
from digest.graph.store import Graph
from digest.http import HttpClient, HttpConfig
from digest.stores import db
from digest.stores.keys import RedisKeys
from digest.vocabulary import Provider
from tests.standins.github import GitHubStandIn

POSTGRES_URL = os.environ.get("LANYARD_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("LANYARD_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = "bench-secret-key-0123456789-0123456789-abcdef"
GOAL_RATIO = 1.5
NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)
STRANGER = 900_000_000  # ids of accounts that are nobody's here


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--linked", type=int, default=50_000)
    parser.add_argument("--follows", type=int, default=20_000)
    parser.add_argument("--small", type=int, default=2_000)
    parser.add_argument("--tiny", action="store_true", help="a small data set (a check, not figures)")
    args = parser.parse_args()
    if args.tiny:
        args.people, args.linked, args.follows, args.small = 3_000, 1_500, 1_000, 100
    print(f"{args.people} people, {args.linked} with a linked GitHub account; lists of {args.small} and "
          f"{args.follows}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    worst = 0.0
    with _standin(args) as github_url:
        for backend in ("sqlite", "postgresql"):
            with _database(backend) as url:
                worst = max(worst, _run(backend, url, github_url, args))
    print(f"goal: the full list's fetch peak <= {GOAL_RATIO}x the small list's: "
          f"{'MET' if worst <= GOAL_RATIO else 'MISSED'} (worst {worst:.2f}x); load average {os.getloadavg()[0]:.1f}")


class _standin:
    """The GitHub stand-in in a process of its own, serving the two lists; its URL. In this
    process its memory (it keeps every request it answered) would count as the import's."""

    def __init__(self, args):
        self.args = args

    def __enter__(self) -> str:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve-standin", str(self.args.small), str(self.args.follows)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        url = self.process.stdout.readline().strip()
        if not url.startswith("http://"):
            raise SystemExit("bench/follows.py: the GitHub stand-in did not start")
        return url

    def __exit__(self, *exc: object) -> None:
        self.process.stdin.close()  # the stand-in stops when its stdin ends
        self.process.wait(timeout=30)


def _serve_standin(small: int, full: int) -> None:
    with GitHubStandIn() as github:
        for n, (login, size) in enumerate((("small", small), ("full", full)), 1):
            half = size // 2
            github.add_user(login, user_id=800_000_000 + n,
                            following=[*range(1, half + 1), *range(STRANGER, STRANGER + size - half)])
        print(github.base_url, flush=True)
        sys.stdin.read()


class _database:
    """A throwaway migrated database of one kind; its URL."""

    def __init__(self, backend: str):
        self.backend = backend

    def __enter__(self) -> str:
        self.tmp = tempfile.TemporaryDirectory(prefix="bench-follows-")
        if self.backend == "sqlite":
            self.url = f"sqlite:///{self.tmp.name}/lanyard.sqlite3"
        else:
            self.name = f"bench_follows_{os.getpid()}"
            with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{self.name}"')
                connection.execute(f'CREATE DATABASE "{self.name}"')
            self.url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{self.name}"
        env = {**os.environ, "LANYARD_DATABASE_URL": self.url, "LANYARD_DATA_DIR": self.tmp.name,
               "LANYARD_SECRET_KEYS": SECRET}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        subprocess.run([sys.executable, str(ROOT / "site" / "manage.py"), "migrate", "--no-input", "-v", "0"],
                       env=env, check=True, timeout=600)
        return self.url

    def __exit__(self, *exc: object) -> None:
        if self.backend == "postgresql":
            with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.tmp.cleanup()


def _fill(engine, args) -> dict[str, int]:
    """People 1..N; GitHub accounts (external id = person id) for the first ``linked``; two importers."""
    with engine.begin() as connection:
        people = ({"id": i, "name": f"Person {i}", "handle": f"p{i}", "bio": "", "avatar_url": "", "timezone": "UTC",
                   "cache_version": 1, "feed_version": 1, "user_id": None} for i in range(1, args.people + 3))
        db.bulk_insert(connection, db.person, list(people), list(db.person.c.keys()))
        accounts = [_account(i, i, str(i), f"user{i}") for i in range(1, args.linked + 1)]
        importers = {"small": args.people + 1, "full": args.people + 2}
        accounts += [_account(args.people + n, person, str(800_000_000 + n), login)
                     for n, (login, person) in enumerate(importers.items(), 1)]
        db.bulk_insert(connection, db.account, accounts, list(db.account.c.keys()))
    return {login: args.people + n for n, login in enumerate(importers, 1)}


def _account(account_id: int, person_id: int, external_id: str, handle: str) -> dict:
    return {"id": account_id, "person_id": person_id, "provider": "github", "external_id": external_id,
            "handle": handle, "profile_url": "", "verified": False, "verified_via": "", "verified_at": None,
            "added_by": "bench", "created_at": NOW, "fetched_at": None, "fetch_etag": "", "following_count": 0,
            "following_capped": False, "fetch_error": "", "fetch_error_at": None}


def _run(backend: str, url: str, github_url: str, args) -> float:
    settings = load_settings({"LANYARD_DATABASE_URL": url, "LANYARD_SECRET_KEYS": SECRET})
    engine = db.make_engine(settings.database.primary)
    client = redis.Redis.from_url(REDIS_URL)
    prefix = f"bench-follows-{os.getpid()}:"
    keys = RedisKeys(prefix)
    client.mset({keys.graph_live: 1, keys.graph(1).built: 1})
    accounts = _fill(engine, args)
    http = HttpClient(HttpConfig(allow_networks=(ipaddress.ip_network("127.0.0.2/32"),), deadline=120))
    env = AccountsEnv(engine=engine, http=http, graph=Graph(client, prefix), base_url="https://lanyard.example",
                      github_api_url=github_url)
    peaks, import_peaks = {}, {}
    try:
        for login, account_id in accounts.items():
            fetch_seconds, fetch_peak = _measure(partial(_fetch_only, env, login))
            seconds, peak = _measure(partial(follows_import, env, account_id=account_id, now=NOW))
            result: ImportResult = _measure.last  # type: ignore[attr-defined]
            peaks[login], import_peaks[login] = fetch_peak, peak
            print(f"{backend:>10} {login:>5} ({result.fetched} fetched, {result.matched} matched): "
                  f"fetch {fetch_seconds:6.2f} s, peak {fetch_peak / 1024:8.0f} KiB | "
                  f"import {seconds:6.2f} s, peak {peak / 1024:8.0f} KiB")
    finally:
        http.close()
        for key in client.scan_iter(match=f"{prefix}*", count=5000):
            client.delete(key)
        engine.dispose()
    ratio = peaks["full"] / peaks["small"]
    print(f"{backend:>10} peak ratio full/small for a {args.follows / args.small:.0f}x longer list: "
          f"fetch {ratio:.2f}x, whole import {import_peaks['full'] / import_peaks['small']:.2f}x "
          "(matched ids held for the diff)")
    return ratio


def _fetch_only(env: AccountsEnv, login: str) -> ImportResult:
    """The pages streamed into a staging table, as an import does before its transaction."""
    client = env.client(Provider.GITHUB)
    identity = Identity(Provider.GITHUB, "0", login, "", api_id=login)
    result = ImportResult(handle=login)
    with env.engine.connect() as connection:
        staging.drop(connection, checkfirst=True)
        staging.create(connection)
        _stage(connection, client.following(identity), 1_000_000, result)
        staging.drop(connection)
        connection.commit()
    return result


def _measure(work):
    tracemalloc.start()
    started = time.perf_counter()
    try:
        _measure.last = work()  # type: ignore[attr-defined]
        return time.perf_counter() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve-standin"]:
        _serve_standin(int(sys.argv[2]), int(sys.argv[3]))
    else:
        main()
