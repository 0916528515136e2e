"""Running a batch end to end from one command: a worker of our own when none is up.

The embedded default (README's first command) goes through a real Celery worker on the
embedded Redis, not an eager mode: when no worker answers a ping, one is started as a
child process, the run is watched in the database until it ends, and the worker is
stopped with a warm shutdown (it finishes the task in hand).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from celery import Celery
from sqlalchemy import Engine

from digest.runs.progress import RunSummary, run_progress
from digest.vocabulary import ACTIVE_RUN_STATUSES

from .app import QUEUES


def workers_answering(app: Celery, timeout: float = 1.0) -> int:
    """How many workers answer a ping on this broker."""
    try:
        return len(app.control.ping(timeout=timeout) or [])
    except Exception:  # no answer is the answer
        return 0


def start_worker(
    data_dir: Path, *, lanyard: Sequence[str], concurrency: int | None = None, env: dict | None = None
) -> subprocess.Popen:
    """Start `lanyard worker` as a child process, its log under the data directory.

    ``lanyard`` is the command line that starts `lanyard` (the caller's to say: the
    scheduler knows nothing of the command line above it)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log = open(data_dir / "worker.log", "ab")  # noqa: SIM115 -- closed below, once the child holds it
    command = [*lanyard, "worker", "--queues", ",".join(QUEUES), "--loglevel", "WARNING"]
    if concurrency:
        command += ["--concurrency", str(concurrency)]
    try:
        return subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env or os.environ.copy(), start_new_session=True
        )
    finally:
        log.close()


def stop_worker(process: subprocess.Popen, *, timeout: float = 60.0) -> int:
    """Warm shutdown (SIGTERM: finish the task in hand), then SIGKILL after ``timeout``."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def wait_for_run(
    engine: Engine, run_id: int, *, on_progress: Callable[[RunSummary], None] | None = None,
    poll: float = 0.5, alive: Callable[[], bool] | None = None,
) -> RunSummary:
    """Poll the run until it is no longer planned, running or paused.

    ``alive`` (e.g. "our worker process still runs") is checked each poll; when it
    turns False the wait ends with the run as it stands.
    """
    while True:
        progress = run_progress(engine, run_id=run_id)
        if on_progress:
            on_progress(progress)
        if progress.status not in ACTIVE_RUN_STATUSES or (alive is not None and not alive()):
            return progress
        time.sleep(poll)


class WorkerStopped(RuntimeError):
    """The worker started for a run stopped before the run ended; one line."""


@dataclass(frozen=True)
class OwnWorker:
    """The worker started for a run when none answers: where it logs, the command line that
    starts `lanyard`, and the worker's processes."""

    data_dir: Path
    lanyard: Sequence[str]
    concurrency: int | None = None


def wait_with_a_worker(
    engine: Engine, app: Celery, *, run_id: int, own: OwnWorker,
    on_progress: Callable[[RunSummary], None] | None = None, say: Callable[[str], None] = print,
) -> RunSummary:
    """Watch a started run to its end; when no worker answers, start one for it and stop it
    cleanly after (README's first command runs the digest so on the embedded Redis)."""
    process = None
    if not workers_answering(app):
        say(f"no worker is running: starting one for this run (log: {own.data_dir / 'worker.log'})")
        process = start_worker(own.data_dir, lanyard=own.lanyard, concurrency=own.concurrency)
    try:
        progress = wait_for_run(
            engine, run_id, on_progress=on_progress, alive=(lambda: process.poll() is None) if process else None,
        )
    finally:
        if process is not None:
            say(f"worker stopped (exit {stop_worker(process)})")
    if process is not None and progress.status in ACTIVE_RUN_STATUSES and process.returncode not in (0, None):
        raise WorkerStopped(f"the worker stopped before run {run_id} ended; see {own.data_dir / 'worker.log'}")
    return progress
