"""Benchmark: the API's endpoints beside the pages they are the JSON twins of.

    .venv/bin/python bench/api.py [--requests 300] [--data-dir var/bench-digest]
                                  [--people 100000] [--events 10000] [--subscribers 5000]
    .venv/bin/python bench/api.py --tiny      # a quick run on a small data set: proves it works

On bench/digest.py's seeded data (as bench/site.py uses it), the same random rows are asked
for as a page and as its API twin, through Django's WSGI handler; for each pair it prints
p50/p95 of both, the API's p95 as a ratio of the page's, and the API's queries per request.
Goal: every endpoint's p95 at most the page's (the API renders no template; it adds an ETag
and a rate-limit count in Redis).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), str(ROOT / "site")] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

SEED = 11
GOAL_RATIO = 1.0
# page URL → its API twin (the API pages by cursor: a page number becomes the first page)
TWINS = [
    (r"^/events/\?page=\d+$", "/api/v1/events"),
    (r"^/events/\?(.*)$", r"/api/v1/events?\1"),
    (r"^/events/([^/]+)/$", r"/api/v1/events/\1"),
    (r"^/talks/(\d+)/$", r"/api/v1/talks/\1"),
    (r"^/people/\?page=\d+$", "/api/v1/people"),
    (r"^/people/([^/]+)/$", r"/api/v1/people/\1"),
    (r"^/topics/$", "/api/v1/topics?limit=100"),
    (r"^/topics/([^/]+)/$", r"/api/v1/topics/\1"),
    (r"^/coverage/\?page=\d+$", "/api/v1/coverage"),
    (r"^/search/\?(.*)$", r"/api/v1/search?\1"),
]


def _bench(name: str):
    """bench/<name>.py as a module (bench/digest.py's name would clash with the digest package)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def twin(url: str) -> str | None:
    for pattern, replacement in TWINS:
        if re.match(pattern, url):
            return re.sub(pattern, replacement, url)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per endpoint")
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--subscribers", type=int, default=5_000)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "var" / "bench-digest")
    parser.add_argument("--tiny", action="store_true", help="a small data set and few requests (a check, not figures)")
    args = parser.parse_args()
    if args.tiny:
        args.requests, args.people, args.events, args.subscribers = 12, 400, 60, 50
        args.data_dir = ROOT / "var" / "bench-api-tiny"

    data_dir = args.data_dir.absolute()
    os.environ.update({"LANYARD_DATA_DIR": str(data_dir), "LANYARD_MAIL_URL": f"maildir://{data_dir / 'outbox'}",
                       "LANYARD_API_RATE": "1000000"})  # one address asks everything: no 429s
    for name in ("LANYARD_DATABASE_URL", "LANYARD_REDIS_URL", "LANYARD_REDIS_PREFIX", "LANYARD_SEARCH_URL"):
        os.environ.pop(name, None)
    bench_digest, bench_site = _bench("digest"), _bench("site")
    from digest.handles import Handles

    app = Handles()
    bench_digest.ensure_data(app, people=args.people, events=args.events, subscribers=args.subscribers)
    bench_site.ensure_index(app)

    os.environ["DJANGO_SETTINGS_MODULE"] = "lanyard_site.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application

    settings.DEBUG = False
    from lanyard_site.events.selectors import shared  # every events page reads its day from shared.today()

    today = bench_digest.TODAY
    shared.today = lambda: today
    wsgi = get_wsgi_application()
    pages = bench_site.page_urls(app, random.Random(SEED), args.requests)
    print(f"data: {data_dir} ({args.people} people, {args.events} events), as of {today}; "
          f"{args.requests} requests per endpoint; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    worst = 0.0
    for name, page_list in pages.items():
        api_list = [twin(url) for url in page_list]
        if any(url is None for url in api_list):
            continue  # no JSON twin (home, directories, robots.txt)
        page, api = bench_site.timed(wsgi, page_list), bench_site.timed(wsgi, api_list)
        counts = bench_site.query_counts(wsgi, api_list[:25])
        page_p95, api_p95 = (bench_site.percentile(t.times, 95) for t in (page, api))
        ratio = api_p95 / page_p95
        worst = max(worst, ratio)
        print(f"{name:>18}: API p50 {bench_site.percentile(api.times, 50):6.2f} ms, p95 {api_p95:6.2f} ms | "
              f"page p50 {bench_site.percentile(page.times, 50):6.2f} ms, p95 {page_p95:6.2f} ms | "
              f"{ratio:4.2f}x the page, queries {min(counts)}..{max(counts)}, {api.bad} not 200")
    print(f"goal: every endpoint's p95 <= {GOAL_RATIO:.1f}x its page's: {'MET' if worst <= GOAL_RATIO else 'MISSED'} "
          f"(worst {worst:.2f}x); load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
