"""Benchmark: the browsing site's pages through its WSGI application, on seeded data.

    .venv/bin/python bench/site.py [--requests 300] [--data-dir var/bench-digest]
                                   [--people 100000] [--events 10000] [--subscribers 5000]
    .venv/bin/python bench/site.py --database-url postgresql://postgres@127.0.0.1:5432/lanyard_bench_site

It reuses the digest benchmark's data (bench/digest.py seeds it once: SQLite, embedded
Redis) and builds the search index over it when the index is missing. The site is
browsed as of the day the data is centred on (bench/digest.py's TODAY), so "upcoming"
means what it would on that day. For each page type it requests a few hundred
different pages (random events, people, talks, topics, searches...) through Django's
WSGI handler, as a server would call it, and prints p50/p95 and the SQL queries per
page (the fewest and the most over the pages asked), beside a baseline page that
touches no store (robots.txt) through the same handler.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import io
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), str(ROOT / "site")] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

SEED = 11
GOAL_MS = 25.0  # issue 22: every page p95 < 25 ms on the 100,000 / 10,000 data
MAX_QUERIES = 12


def _digest_bench():
    """bench/digest.py as a module (its name would clash with the digest package)."""
    spec = importlib.util.spec_from_file_location("bench_digest", ROOT / "bench" / "digest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per page type")
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--subscribers", type=int, default=5_000)
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="default: var/bench-digest, or var/bench-site-postgresql with --database-url")
    parser.add_argument("--database-url", default="",
                        help="a PostgreSQL database to seed once and browse (created when missing), "
                             "instead of the data directory's SQLite")
    args = parser.parse_args()

    default_dir = "bench-site-postgresql" if args.database_url else "bench-digest"
    data_dir = (args.data_dir or ROOT / "var" / default_dir).absolute()
    os.environ.update({"LANYARD_DATA_DIR": str(data_dir), "LANYARD_MAIL_URL": f"maildir://{data_dir / 'outbox'}"})
    for name in ("LANYARD_DATABASE_URL", "LANYARD_REDIS_URL", "LANYARD_REDIS_PREFIX", "LANYARD_SEARCH_URL"):
        os.environ.pop(name, None)
    if args.database_url:
        ensure_postgres_database(args.database_url)
        os.environ["LANYARD_DATABASE_URL"] = args.database_url
    bench_digest = _digest_bench()
    from digest.handles import Handles

    app = Handles()
    bench_digest.ensure_data(app, people=args.people, events=args.events, subscribers=args.subscribers)
    ensure_index(app)

    os.environ["DJANGO_SETTINGS_MODULE"] = "lanyard_site.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application

    settings.DEBUG = False  # as in production: no query log kept per request
    from lanyard_site.events.selectors import shared  # every events page reads its day from shared.today()

    today = bench_digest.TODAY
    shared.today = lambda: today  # browse as of the data's day
    wsgi = get_wsgi_application()
    urls = page_urls(app, random.Random(SEED), args.requests)
    gc.collect()
    gc.freeze()  # what loading made, out of the collector's scans, as a gunicorn worker does (gunicorn_conf.py)
    print(f"data: {app.settings.database.primary.backend} {data_dir} ({args.people} people, {args.events} events), "
          f"browsed as of {today}; "
          f"{args.requests} requests per page type; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    baseline = timed(wsgi, urls.pop("baseline"))
    base_p95 = percentile(baseline.times, 95)
    print(f"baseline (robots.txt, no store): p50 {percentile(baseline.times, 50):.2f} ms, p95 {base_p95:.2f} ms")
    worst_p95, worst_queries = 0.0, 0
    for name, page_list in urls.items():
        result = timed(wsgi, page_list)
        counts = query_counts(wsgi, page_list[:25])
        p50, p95 = percentile(result.times, 50), percentile(result.times, 95)
        worst_p95, worst_queries = max(worst_p95, p95), max(worst_queries, max(counts))
        print(f"{name:>20}: p50 {p50:6.2f} ms, p95 {p95:6.2f} ms ({p95 / base_p95:5.1f}x baseline), "
              f"queries {min(counts)}..{max(counts)}, {result.bad} not 200")
    print(f"goal p95 < {GOAL_MS:.0f} ms on every page: {'MET' if worst_p95 < GOAL_MS else 'MISSED'} "
          f"(worst {worst_p95:.1f} ms); <= {MAX_QUERIES} queries per page: "
          f"{'MET' if worst_queries <= MAX_QUERIES else 'MISSED'} (most {worst_queries}); "
          f"load average {os.getloadavg()[0]:.1f}")


def ensure_postgres_database(url: str) -> None:
    """The benchmark's PostgreSQL database, created (empty) when missing; seeded like SQLite."""
    import psycopg

    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            connection.execute(f'CREATE DATABASE "{name}"')


def ensure_index(app) -> None:
    """The search index over the bench data, built once (the site's search pages read it)."""
    from digest.search import SearchError, TextQuery, open_search
    from digest.search.sync import rebuild
    from digest.stores.keys import RedisKeys

    index = open_search(app.settings)
    try:
        built = index.search(TextQuery("", limit=1)).total > 0
    except SearchError:
        built = False
    if not built:
        print("building the search index over the bench data (once; reused later)...", flush=True)
        stats = rebuild(index, app.engine, app.redis, RedisKeys(app.settings.redis.prefix))
        print(f"search index: {stats.documents} documents in {stats.seconds:.1f}s")


def page_urls(app, rng: random.Random, count: int) -> dict[str, list[str]]:
    """``count`` URLs per page type, picked at random from the data."""
    from sqlalchemy import func, select

    from digest.stores import db

    with app.engine.connect() as c:
        def sample(column, where=None, n=count):
            query = select(column)
            if where is not None:
                query = query.where(where)
            return list(c.execute(query.order_by(func.random()).limit(n)).scalars())

        events = sample(db.event_.c.slug)
        busy = sample(db.event_.c.slug, db.event_.c.id.in_(
            select(db.attendance.c.event_id).group_by(db.attendance.c.event_id).having(func.count() > 200)))
        speakers = sample(db.person.c.handle, db.person.c.id.in_(select(db.session_speaker.c.person_id)))
        talks = sample(db.session.c.id)
        topics = sample(db.topic.c.slug)
        names = sample(db.person.c.name, n=200)
        cities = sample(db.event_.c.city, n=50)

    def pick(values, n=count):
        return [rng.choice(values) for _ in range(n)]

    words = [name.split()[0] for name in names] + cities + ["python", "django", "scaling", "search", "conf"]
    return {
        "baseline": ["/robots.txt"] * count,
        "home": ["/"] * count,
        "events (browse)": [f"/events/?page={rng.randint(1, 20)}" for _ in range(count)],
        "events (filtered)": [f"/events/?topic={t}&when={rng.choice(['upcoming', 'past'])}" for t in pick(topics)],
        "events (by city)": [f"/events/?city={quote(city)}&when=past" for city in pick(cities)],
        "event": [f"/events/{slug}/" for slug in pick(events)],
        "attendees": [f"/events/{slug}/attendees/?page={rng.randint(1, 3)}" for slug in pick(busy or events)],
        "attendees (search)": [
            f"/events/{slug}/attendees/?q={quote(rng.choice(words))}" for slug in pick(busy or events)
        ],
        "talk": [f"/talks/{pk}/" for pk in pick(talks)],
        "person": [f"/people/{handle}/" for handle in pick(speakers)],
        "people": [f"/people/?page={rng.randint(1, 50)}" for _ in range(count)],
        "topics": ["/topics/"] * count,
        "topic": [f"/topics/{slug}/" for slug in pick(topics)],
        "coverage": [f"/coverage/?page={rng.randint(1, 20)}" for _ in range(count)],
        "search": [f"/search/?q={quote(rng.choice(words))}" for _ in range(count)],
        "search (facet)": [f"/search/?q={quote(rng.choice(words))}&type=event&when=past" for _ in range(count)],
    }


class Timed:
    def __init__(self):
        self.times: list[float] = []
        self.bad = 0


def call(wsgi, url: str) -> str:
    """One request through the WSGI handler, as a server calls it; returns the status line."""
    path, _, query = url.partition("?")
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": "localhost",
        "SERVER_PORT": "8000", "HTTP_HOST": "localhost:8000", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr, "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": True,
        "wsgi.run_once": False, "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
    }
    status = []
    body = wsgi(environ, lambda s, headers, exc_info=None: status.append(s))
    try:
        for _ in body:
            pass
    finally:
        if hasattr(body, "close"):
            body.close()
    return status[0]


def timed(wsgi, urls: list[str]) -> Timed:
    result = Timed()
    for url in urls[:10]:  # warm up: open the index reader, fill the per-process caches once
        call(wsgi, url)
    for url in urls:
        started = time.perf_counter()
        status = call(wsgi, url)
        result.times.append((time.perf_counter() - started) * 1000)
        if not status.startswith("200"):
            result.bad += 1
    return result


def query_counts(wsgi, urls: list[str]) -> list[int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for url in urls:
        with CaptureQueriesContext(connection) as captured:
            call(wsgi, url)
        counts.append(len(captured))
    return counts


def percentile(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1] if len(values) > 1 else values[0]


if __name__ == "__main__":
    main()
