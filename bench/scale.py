"""Benchmark: one digest run on real Celery workers, with 1 worker process and with 2.

    .venv/bin/python bench/scale.py [--subscribers 20000] [--database-url postgresql://…]
                                    [--redis-url redis://127.0.0.1:6379/14] [--data-dir var/bench-scale]

It seeds a PostgreSQL database once (the production store several workers share;
created when missing, reused later) and a Redis graph under its own prefix, with the
mail going to a maildir outbox. Then the same run (same subscribers, same date, the
ledger, mention memory and outbox forgotten between runs) three times:

* in-process: ``run_plan`` → ``work_here`` (``Pipeline.process_chunk``) per chunk → ``run_finish``, the
  baseline (what `lanyard digest run` does);
* through Celery with one worker process (``lanyard worker --concurrency 1``);
* through Celery with two worker processes (``--concurrency 2``).

Workers are started and answering before the clock starts; the clock stops when the
run row says finished. It prints digests per second for each, the speed-up of two
processes over one, and the Celery overhead (1 process against in-process).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

import psycopg
import redis
from sqlalchemy import delete, func, select, update

from digest.config import load_settings
from digest.demo.seed import SeedPlan, seed
from digest.graph.store import Graph
from digest.graph.sync import rebuild
from digest.nightly.batch import work_here
from digest.nightly.mentions import forget_mentions
from digest.nightly.pipeline import Pipeline
from digest.runs.finishing import FinishPolicy, run_finish
from digest.runs.planning import RunRequest, run_plan, run_start
from digest.runs.runtime import schedule_set
from digest.stores import db
from scheduler.app import create_app
from scheduler.enqueue import Enqueue
from scheduler.local import workers_answering

CHUNK_TIMEOUT = dt.timedelta(minutes=10)
# The bench works its runs alone: nothing is in flight once its chunks are done.
FINISH = FinishPolicy(stale_after=dt.timedelta(0), max_attempts=0)

TODAY = dt.date(2026, 6, 1)
PREFIX = "benchscale:"
CHUNK = 500


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=20_000)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/lanyard_bench_scale")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "var" / "bench-scale")
    args = parser.parse_args()

    env = {
        "LANYARD_DATA_DIR": str(args.data_dir),
        "LANYARD_DATABASE_URL": args.database_url,
        "LANYARD_REDIS_URL": args.redis_url,
        "LANYARD_REDIS_PREFIX": PREFIX,
        "LANYARD_MAIL_URL": f"maildir://{args.data_dir / 'outbox'}",
        "LANYARD_SECRET_KEYS": "bench-secret-key-that-is-long-enough-0123456789",
    }
    settings = load_settings(env)
    engine = db.make_engine(settings.database.primary)
    client = redis.Redis.from_url(args.redis_url)
    prepare(settings, engine, client, env, args.subscribers)
    schedule_set(engine, chunk_size=CHUNK, rate_limit=0, paused=False)

    reset(settings, engine, client)
    in_process = timed_in_process(settings, engine, client)
    results = {}
    for processes in (1, 2):
        reset(settings, engine, client)
        results[processes] = timed_celery(settings, engine, env, processes)

    def line(label, sent_and_skipped, seconds):
        rate = sent_and_skipped / seconds
        print(f"{label:<28} {sent_and_skipped:>6} digests in {seconds:6.2f} s = {rate:7.0f} digests/s")
        return rate

    print(
        f"scale: {args.subscribers} subscribers, chunks of {CHUNK}, PostgreSQL + Redis + maildir, {os.cpu_count()} CPUs"
    )
    base = line("in-process Pipeline", *in_process)
    one = line("Celery, 1 worker process", *results[1])
    two = line("Celery, 2 worker processes", *results[2])
    print(f"speed-up 2 processes / 1: {two / one:.2f}x (target >= 1.7x)")
    print(
        f"Celery overhead: 1 process at {one / base:.2f} of in-process = "
        f"{100 * (1 - one / base):.1f}% overhead (target < 15%)"
    )
    engine.dispose()


def prepare(settings, engine, client, env, subscribers) -> None:
    """Create, migrate and seed the database once; rebuild the graph when missing."""
    url = settings.database.primary.url
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    name = settings.database.primary.name
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')
    migrate = subprocess.run(
        [sys.executable, str(ROOT / "site" / "manage.py"), "migrate", "--no-input", "-v", "0"],
        env={**os.environ, **env}, capture_output=True, text=True,
    )
    if migrate.returncode:
        sys.exit(f"migrate failed: {migrate.stderr}")
    with engine.connect() as connection:
        have = connection.execute(select(func.count()).select_from(db.subscription)).scalar_one()
    if have != subscribers:
        print(f"seeding {subscribers} subscribers (once)…", flush=True)
        seed(engine, SeedPlan(
            people=max(2 * subscribers, 1000), events=max(subscribers // 5, 100), subscribers=subscribers, seed=11,
            today=TODAY, reset=True,
        ))
    graph = Graph(client, PREFIX)
    if graph.live_generation() is None or have != subscribers:
        print("building the Redis graph…", flush=True)
        rebuild(graph, engine)


def reset(settings, engine, client) -> None:
    """Forget the previous run: ledger, chunks, runs, mention memory, outbox."""
    with engine.begin() as connection:
        for table in (db.digest_chunk, db.delivery, db.digest_run):
            connection.execute(delete(table))
        connection.execute(update(db.subscription).values(last_sent_date=None))
    forget_mentions(client, PREFIX)
    shutil.rmtree(settings.mail.transport.path, ignore_errors=True)


def timed_in_process(settings, engine, client) -> tuple[int, float]:
    started = time.perf_counter()
    pipeline = Pipeline(settings, engine=engine, redis=client)
    plan = run_plan(engine, RunRequest(digest_date=TODAY, chunk_size=CHUNK))
    for chunk_id in plan.chunk_ids:
        work_here(pipeline, chunk_id=chunk_id, timeout=CHUNK_TIMEOUT)
    summary = run_finish(engine, run_id=plan.run_id, policy=FINISH).summary
    seconds = time.perf_counter() - started
    pipeline.close()
    return summary.sent + summary.skipped, seconds


def timed_celery(settings, engine, env, processes: int) -> tuple[int, float]:
    app = create_app(settings)
    log = open(settings.data_dir / f"worker-{processes}.log", "ab")  # noqa: SIM115 -- the worker process writes it
    worker = subprocess.Popen(
        [sys.executable, "-m", "lanyard_cli", "worker", "--concurrency", str(processes), "--loglevel", "WARNING"],
        env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT,
    )
    try:
        while not workers_answering(app, timeout=0.5):
            if worker.poll() is not None:
                sys.exit(f"the worker exited; see {log.name}")
        started = time.perf_counter()
        run_id = run_start(engine, Enqueue(app), request=RunRequest(digest_date=TODAY, chunk_size=CHUNK))
        r = db.digest_run
        while True:
            with engine.connect() as connection:
                run = connection.execute(select(r.c.status, r.c.sent, r.c.skipped).where(r.c.id == run_id)).one()
            if run.status not in ("planned", "running", "paused"):
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - started
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(60)
        log.close()
        app.close()
    return run.sent + run.skipped, seconds


if __name__ == "__main__":
    main()
