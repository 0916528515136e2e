"""Benchmark: the site under load, served by gunicorn the way README "Deploying" runs it,
driven by wrk from a second process.

    .venv/bin/python bench/load.py [--seconds 20] [--warmup 3] [--connections 16] [--data-dir var/bench-digest]
                                   [--people 100000] [--events 10000] [--subscribers 5000]
                                   [--pages person,search]   # only these page types (and /healthz)
    .venv/bin/python bench/load.py --tiny     # a quick run on a small data set: proves it works

Needs wrk (Debian's package: `apt install wrk`; `.ci/services` installs it). On
bench/digest.py's seeded data (SQLite, the embedded Redis, the tantivy index; seeded once
and reused), it starts `gunicorn -c python:lanyard_site.gunicorn_conf` in production mode
(LANYARD_ENV=production, its own worker and thread counts) on a free loopback port, signs
in through the login form as the person who follows the most people, then runs wrk for
``--seconds`` per page type at ``--connections`` keep-alive connections (after ``--warmup``
seconds of the same, not counted: each worker's first requests load templates and fill
its per-process caches, which is start-up, not serving), each request a
URL picked in turn from 200 of that type: /healthz (the baseline: no store touched), home,
an event signed out and signed in, a person, a search, the calendar (signed in).

For each it prints requests/s, p50 and p99 latency, responses that were not 200, and its
requests/s as a ratio of /healthz's in the same run. Goal (issue 22): every page at least
0.1x /healthz's requests/s with p99 under 100 ms. wrk shares the machine's CPUs with
gunicorn, so the figures are a floor.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), str(ROOT / "site")] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

SEED = 13
# The site's logging (INFO to the console, once Django is set up) would print a line for
# each page checked before wrk runs.
logging.getLogger("httpx").setLevel(logging.WARNING)
URLS_PER_PAGE = 200
RATIO_GOAL = 0.1
P99_GOAL_MS = 100.0
PASSWORD = "bench-load-password-1"
# wrk's Lua: each request the next path from a file (argument 1), its headers (argument 2,
# a JSON object written by this script); at the end one JSON line with the figures.
WRK_SCRIPT = r"""
local paths, i = {}, 0
local headers = {}
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  local f = io.open(args[2]); local raw = f:read("*a"); f:close()
  for k, v in raw:gmatch('"([^"]+)":%s*"([^"]*)"') do headers[k] = v end
end
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], headers)
end
function done(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format('{"requests": %d, "seconds": %f, "p50": %f, "p99": %f, "bad": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(99) / 1e3, bad))
end
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=20, help="wrk's run per page type")
    parser.add_argument("--warmup", type=int, default=3,
                        help="seconds of the same load per page type before each measured run, not counted")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--subscribers", type=int, default=5_000)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "var" / "bench-digest")
    parser.add_argument("--tiny", action="store_true", help="2,000 people, 200 events, 3 s per page")
    parser.add_argument("--pages", default="", metavar="NAMES",
                        help="only these page types, comma-separated (e.g. person,search); /healthz always runs")
    args = parser.parse_args()
    if args.tiny:
        args.people, args.events, args.subscribers, args.seconds, args.warmup = 2_000, 200, 100, 3, 1
        args.data_dir = ROOT / "var" / "bench-load-tiny"
    if shutil.which("wrk") is None:
        raise SystemExit("bench/load.py: wrk is not installed (apt install wrk)")

    data_dir = args.data_dir.absolute()
    secret = secrets.token_urlsafe(48)
    env = {**os.environ, "LANYARD_DATA_DIR": str(data_dir), "LANYARD_MAIL_URL": f"maildir://{data_dir / 'outbox'}",
           "LANYARD_SECRET_KEYS": secret}
    for name in ("LANYARD_DATABASE_URL", "LANYARD_REDIS_URL", "LANYARD_REDIS_PREFIX", "LANYARD_SEARCH_URL",
                 "LANYARD_ENV", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    os.environ.update({k: v for k, v in env.items() if k.startswith("LANYARD_")})
    bench_site = _bench_module("site")
    from digest.handles import Handles

    app = Handles()
    bench_site._digest_bench().ensure_data(app, people=args.people, events=args.events, subscribers=args.subscribers)
    bench_site.ensure_index(app)
    username = _member(app)
    pages = _page_urls(app, random.Random(SEED))
    if args.pages:
        wanted = [name.strip() for name in args.pages.split(",") if name.strip()]
        if unknown := [name for name in wanted if name not in pages]:
            raise SystemExit(f"bench/load.py: no page type {', '.join(unknown)} (the types: {', '.join(pages)})")
        pages = {name: pages[name] for name in wanted}

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env.update({"LANYARD_ENV": "production", "LANYARD_BASE_URL": base, "LANYARD_SITE_BIND": f"127.0.0.1:{port}"})
    with tempfile.TemporaryDirectory(prefix="lanyard-load-") as work, _gunicorn(env, base) as server:
        headers = {"Host": f"127.0.0.1:{port}"}
        signed_in = {**headers, "Cookie": _sign_in(base, username)}
        print(f"data: {data_dir} ({args.people} people, {args.events} events); gunicorn {server.describe}; "
              f"wrk {args.connections} connections, {args.seconds} s per page type after {args.warmup} s not counted; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
        script = Path(work) / "paths.lua"
        script.write_text(WRK_SCRIPT)
        figures = {}
        for name, (paths, who) in {"healthz": (["/healthz"], headers), **{
            k: (v, signed_in if "signed in" in k else headers) for k, v in pages.items()
        }}.items():
            figures[name] = _wrk(base, script, Path(work), paths, who, args)
            _report(name, figures[name], figures["healthz"])
        worst = min((f["rps"] / figures["healthz"]["rps"], n) for n, f in figures.items() if n != "healthz")
        slowest = max((f["p99"], n) for n, f in figures.items() if n != "healthz")
        met = worst[0] >= RATIO_GOAL and slowest[0] < P99_GOAL_MS and not any(f["bad"] for f in figures.values())
        print(f"goal: every page >= {RATIO_GOAL}x /healthz's requests/s and p99 < {P99_GOAL_MS:.0f} ms, all 200: "
              f"{'MET' if met else 'MISSED'} (lowest {worst[0]:.2f}x {worst[1]}; slowest p99 {slowest[0]:.0f} ms "
              f"{slowest[1]}); load average {os.getloadavg()[0]:.1f}")


def _bench_module(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _member(app) -> str:
    """The person who follows the most people, with a user to sign in as (made once)."""
    from sqlalchemy import func, select, update

    from digest.stores import db

    with app.engine.begin() as c:
        me = c.execute(
            select(db.follow.c.follower_id).group_by(db.follow.c.follower_id)
            .order_by(func.count().desc(), db.follow.c.follower_id).limit(1)
        ).scalar_one()
        user_id = c.execute(select(db.person.c.user_id).where(db.person.c.id == me)).scalar_one()
    if user_id is None:
        _django()
        from django.contrib.auth.models import User

        # The account may outlive its person: reseeding the data replaces people, not accounts.
        user, _ = User.objects.get_or_create(username=f"bench-load-{me}")
        user.set_password(PASSWORD)
        user.save()
        with app.engine.begin() as c:
            c.execute(update(db.person).where(db.person.c.id == me).values(user_id=user.pk))
        return user.username
    _django()
    from django.contrib.auth.models import User

    user = User.objects.get(pk=user_id)
    user.set_password(PASSWORD)
    user.save()
    return user.username


def _django() -> None:
    if "django.conf" in sys.modules and sys.modules["django.conf"].settings.configured:
        return
    os.environ["DJANGO_SETTINGS_MODULE"] = "lanyard_site.settings"
    import django

    django.setup()


def _page_urls(app, rng: random.Random) -> dict[str, list[str]]:
    from urllib.parse import quote

    from sqlalchemy import func, select

    from digest.stores import db

    with app.engine.connect() as c:
        def sample(column, where=None):
            query = select(column) if where is None else select(column).where(where)
            return list(c.execute(query.order_by(func.random()).limit(URLS_PER_PAGE)).scalars())

        events = sample(db.event_.c.slug)
        speakers = sample(db.person.c.handle, db.person.c.id.in_(select(db.session_speaker.c.person_id)))
        names = sample(db.person.c.name)
    words = [name.split()[0] for name in names] + ["python", "django", "scaling", "search", "conf"]
    return {
        "home": ["/"],
        "event": [f"/events/{slug}/" for slug in events],
        "event (signed in)": [f"/events/{slug}/" for slug in events],
        "person": [f"/people/{handle}/" for handle in speakers],
        "search": [f"/search/?q={quote(rng.choice(words))}" for _ in range(URLS_PER_PAGE)],
        "calendar (signed in)": ["/calendar/"],
    }


class _Server:
    def __init__(self, process: subprocess.Popen, describe: str):
        self.process, self.describe = process, describe


class _gunicorn:
    """gunicorn with lanyard_site.gunicorn_conf, answering /healthz before the clock starts."""

    def __init__(self, env: dict[str, str], base: str):
        self.env, self.base = env, base

    def __enter__(self) -> _Server:
        static = subprocess.run([sys.executable, str(ROOT / "site" / "manage.py"), "collectstatic", "--no-input"],
                                env=self.env, capture_output=True, text=True)
        if static.returncode != 0:
            raise SystemExit(f"bench/load.py: collectstatic failed: {static.stderr.strip()[-500:]}")
        command = [str(Path(sys.executable).with_name("gunicorn")), "--chdir", str(ROOT / "site"),
                   "-c", "python:lanyard_site.gunicorn_conf", "lanyard_site.wsgi:application"]
        self.process = subprocess.Popen(command, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"bench/load.py: gunicorn stopped: {self.process.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise SystemExit("bench/load.py: gunicorn did not answer /healthz within 120 s")
        config = subprocess.run(
            [sys.executable, "-c",
             "import lanyard_site.gunicorn_conf as c; print(c.workers, c.threads, c.worker_connections)"],
            env={**self.env, "PYTHONPATH": f"{ROOT}:{ROOT / 'site'}"}, capture_output=True, text=True,
        ).stdout.split()
        return _Server(self.process, f"{config[0]} workers x {config[1]} threads, at most {config[2]} connections each"
                       if len(config) == 3 else "?")

    def __exit__(self, *exc) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _sign_in(base: str, username: str) -> str:
    """The Cookie header of a session signed in through the login form."""
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as client:
        form = client.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        if token is None:
            raise SystemExit(f"bench/load.py: no login form at /accounts/login/ ({form.status_code})")
        answer = client.post("/accounts/login/", data={
            "csrfmiddlewaretoken": token.group(1), "username": username, "password": PASSWORD,
        }, headers={"Referer": f"{base}/accounts/login/"})
        if answer.status_code != 302:
            raise SystemExit(f"bench/load.py: signing in as {username} answered {answer.status_code}")
        return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def _wrk(base: str, script: Path, work: Path, paths: list[str], headers: dict[str, str], args) -> dict:
    """wrk's figures for the paths; first, each of the first five must answer 200 (wrk
    counts only 4xx and 5xx: a redirect to the login page would pass for a fast page)."""
    for path in paths[:5]:
        status = httpx.get(base + path, headers=headers, timeout=60).status_code
        if status != 200:
            raise SystemExit(f"bench/load.py: {path} answered {status}, not 200")
    listing, header_file = work / "paths.txt", work / "headers.json"
    listing.write_text("\n".join(paths) + "\n")
    header_file.write_text(json.dumps(headers))
    threads = min(2, args.connections)

    def run(seconds: int) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["wrk", "-t", str(threads), "-c", str(args.connections), "-d", f"{seconds}s", "--timeout", "10s",
             "-s", str(script), base, "--", str(listing), str(header_file)],
            capture_output=True, text=True, timeout=seconds + 120,
        )

    if args.warmup:  # every worker and thread meets the page type before the clock: steady state, not start-up
        run(args.warmup)
    result = run(args.seconds)
    line = next((raw for raw in reversed(result.stdout.splitlines()) if raw.startswith("{")), None)
    if result.returncode != 0 or line is None:
        raise SystemExit(f"bench/load.py: wrk failed: {result.stderr.strip() or result.stdout[-500:]}")
    figures = json.loads(line)
    figures["rps"] = figures["requests"] / figures["seconds"]
    return figures


def _report(name: str, figures: dict, baseline: dict) -> None:
    ratio = figures["rps"] / baseline["rps"]
    print(f"{name:>21}: {figures['rps']:8,.0f} requests/s, p50 {figures['p50']:6.1f} ms, p99 {figures['p99']:6.1f} ms, "
          f"{figures['bad']} not 200, {ratio:5.2f}x /healthz", flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    main()
