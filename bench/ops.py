"""Benchmark: the feature-flag check, and the cost of request profiling on a page.

    .venv/bin/python bench/ops.py [--requests 300] [--checks 1000000] [--data-dir var/bench-ops]

* Flag checks through a request's cache (``FlagSet.active``), the way views and templates
  ask, beside the same number of plain dict lookups (the ceiling) and of uncached rule
  evaluations (a percentage rule: a CRC32 per check). Target: >= 100,000 checks/s.
* An event page rendered by Django's test client in-process (SQLite, the embedded Redis,
  a seeded catalogue under ``--data-dir``), in rounds of three modes interleaved:
  baseline (no profiling middleware, the SQL/template/cache wrappers taken off), profiling
  off (everything installed, the request not sampled) and profiling on (every request
  recorded and its JSON stored in Redis), timed in CPU seconds of this process (the client,
  the view and SQLite run in it). Targets: off <= 2% over baseline, on <= 25%.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), str(ROOT / "site")] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from digest.ops.flags import DEFAULT_RULES, FlagSet, Visitor, parse_rule, rule_admits


def bench_flags(checks: int) -> None:
    names = ["search", "calendar_feed", "link_pasting"]
    plain = {name: True for name in names}
    start = time.perf_counter()
    for i in range(checks):
        plain[names[i % 3]]
    ceiling = time.perf_counter() - start

    rules = {**DEFAULT_RULES, "link_pasting": parse_rule("percent=30")}
    requests = checks // 20  # a page asks about twenty times
    start = time.perf_counter()
    for r in range(requests):
        flags = FlagSet(rules, Visitor(person_id=r, handle=f"p{r}"))
        for i in range(20):
            flags.active(names[i % 3])
    cached = time.perf_counter() - start

    visitor = Visitor(person_id=7)
    rule = rules["link_pasting"]
    start = time.perf_counter()
    for _ in range(checks):
        rule_admits(rule, "link_pasting", visitor)
    uncached = time.perf_counter() - start

    print(
        f"flag checks: {checks / cached:,.0f} checks/s through the per-request cache "
        f"({requests:,} requests x 20 checks, a new FlagSet per request) (target >= 100,000)"
    )
    print(
        f"  baseline dict lookup: {checks / ceiling:,.0f} lookups/s; cached check / dict lookup = "
        f"{ceiling / cached:.2f}x the speed"
    )
    print(f"  uncached percent rule: {checks / uncached:,.0f} evaluations/s (a CRC32 each)")


def setup_site(data_dir: Path) -> str:
    os.environ.update({"LANYARD_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "lanyard_site.settings"})
    for name in ("LANYARD_DATABASE_URL", "LANYARD_REDIS_URL", "LANYARD_ENV"):
        os.environ.pop(name, None)
    import django

    django.setup()
    from django.core.management import call_command
    from sqlalchemy import func, select

    from digest.config import load_settings
    from digest.demo.seed import SeedPlan, seed
    from digest.graph.store import Graph
    from digest.graph.sync import rebuild
    from digest.stores import db
    from digest.stores.redis_store import connect

    settings = load_settings()
    call_command("migrate", interactive=False, verbosity=0)
    engine = db.make_engine(settings.database.primary)
    with engine.connect() as connection:
        seeded = connection.execute(select(func.count()).select_from(db.event_)).scalar_one()
    if not seeded:
        seed(engine, SeedPlan(people=3_000, events=300, subscribers=100, seed=3))
        rebuild(Graph(connect(settings), settings.redis.prefix), engine)
    with engine.connect() as connection:
        slug = connection.execute(
            select(db.event_.c.slug)
            .join(db.session, db.session.c.event_id == db.event_.c.id)
            .group_by(db.event_.c.slug)
            .order_by(func.count().desc())
            .limit(1)
        ).scalar_one()
    return f"/events/{slug}/"


class Unwrapped:
    """Takes the profiler's wrappers off for the baseline (and puts them back)."""

    def __enter__(self):
        from django.conf import settings
        from django.db import connections
        from django.template.base import Template
        from django.utils.module_loading import import_string

        from lanyard_site.ops.instrumentation import ops_execute

        self.saved = [(Template, "render", Template.render)]
        for alias in settings.CACHES:
            backend = import_string(settings.CACHES[alias]["BACKEND"])
            for method in ("get", "set"):
                self.saved.append((backend, method, getattr(backend, method)))
        for owner, name, wrapped in self.saved:
            setattr(owner, name, getattr(wrapped, "__wrapped__", wrapped))
        self.connection = connections["default"]
        self.had_wrapper = ops_execute in self.connection.execute_wrappers
        if self.had_wrapper:
            self.connection.execute_wrappers.remove(ops_execute)
        self.ops_execute = ops_execute
        return self

    def __exit__(self, *exc):
        for owner, name, wrapped in self.saved:
            setattr(owner, name, wrapped)
        if self.had_wrapper:
            self.connection.execute_wrappers.append(self.ops_execute)


def bench_profiling(url: str, requests: int, rounds: int) -> None:
    from django.conf import settings
    from django.test import Client
    from django.test.utils import override_settings

    from digest.stores.keys import RedisKeys
    from lanyard_site import stores
    from lanyard_site.ops.services import live_registry, ops_engine

    without = [m for m in settings.MIDDLEWARE if not m.endswith("ProfileMiddleware")]
    registry = live_registry()

    copy = RedisKeys(settings.LANYARD.redis.prefix).ops_settings
    registry.set(ops_engine(), {"profile_sample_rate": "0"}, changed_by="bench", via="cli")  # loads the Redis copy

    def run(mode: str) -> float:
        # The rate straight into the copy requests read (not through the audited registry: rounds flip it often).
        stores.redis().hset(copy, "profile_sample_rate", "1.0" if mode == "on" else "0.0")
        if mode == "baseline":
            with override_settings(MIDDLEWARE=without), Unwrapped():
                return timed(Client(), url, requests)
        return timed(Client(), url, requests)

    for mode in ("baseline", "off", "on"):  # warm: connections, template loading, the fragment cache
        run(mode)
    per_mode: dict[str, list[float]] = {"baseline": [], "off": [], "on": []}
    for _ in range(rounds):
        for mode in per_mode:
            per_mode[mode].append(run(mode))
    stores.redis().hset(copy, "profile_sample_rate", "0.0")
    best = {mode: min(times) for mode, times in per_mode.items()}
    median = {mode: statistics.median(times) for mode, times in per_mode.items()}
    print(
        f"page {url}: {requests} requests per mode and round, {rounds} rounds interleaved; "
        "CPU ms per request (best round / median round)"
    )
    for mode in per_mode:
        print(f"  {mode:<8} {best[mode] * 1000:7.3f} / {median[mode] * 1000:7.3f} ms")
    for mode, target in (("off", 2), ("on", 25)):
        over = (best[mode] / best["baseline"] - 1) * 100
        over_median = (median[mode] / median["baseline"] - 1) * 100
        print(
            f"profiling {mode}: {best[mode] / best['baseline']:.3f}x baseline = {over:+.1f}% (median rounds: "
            f"{over_median:+.1f}%) (target <= {target}%)"
        )
    profile_keys = sum(
        1 for _ in stores.redis().scan_iter(match=f"{settings.LANYARD.redis.prefix}profile:*", count=1000)
    )
    print(f"  profiles kept in Redis now: {profile_keys} (each expires after 5 minutes)")


def timed(client, url: str, requests: int) -> float:
    """CPU seconds of this process per request: the test client, the view, SQLite and the
    profiler all run here, and CPU time is far steadier than wall time on a shared machine."""
    start = time.process_time()
    for _ in range(requests):
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
    return (time.process_time() - start) / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checks", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=30, help="page requests per mode per round")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "var" / "bench-ops")
    args = parser.parse_args()
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    bench_flags(args.checks)
    url = setup_site(args.data_dir.absolute())
    bench_profiling(url, args.requests, args.rounds)


if __name__ == "__main__":
    main()
