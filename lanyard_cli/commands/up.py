"""`lanyard up`: everything a person needs to try lanyard locally, in one command.

The site (with the emails' /u/ and /r/ links mounted), a Celery worker (search indexing of
site writes, pasted links, digests) and the beat (the schedule, the periodic search flush),
each its own process; Ctrl-C or SIGTERM stops them together, and when one of them ends the
others are stopped too. Production runs each part on its own (README, "Operating lanyard").
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import click

from ..steps import listen_address

STOP_GRACE_SECONDS = 30  # a worker's warm shutdown finishes the task in hand
PR_SET_PDEATHSIG = 1


@dataclass
class Part:
    name: str
    args: list[str]
    process: subprocess.Popen | None = None


def _die_with_parent() -> None:
    """In each child (Linux): a SIGTERM when `lanyard up` itself dies, even by SIGKILL."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass  # not Linux: Ctrl-C and SIGTERM still stop every part


class _Stop(Exception):
    pass


def _raise_stop(signum, frame):
    raise _Stop


@click.command()
@click.option("--host", default=None, help="Interface of the site [default: LANYARD_BASE_URL's host].")
@click.option("--port", default=None, type=click.IntRange(1, 65535), help="Port [default: LANYARD_BASE_URL's port].")
@click.option("--concurrency", "-c", default=2, show_default=True, type=click.IntRange(min=1),
              help="Worker processes.")
@click.pass_obj
def up(app, host, port, concurrency):
    """Run the site, the unsubscribe links, a worker and the beat together until Ctrl-C."""
    host, port = listen_address(app.settings.site.base_url, host, port)
    app.migrate()
    app.redis.ping()  # starts the embedded Redis once, before the parts race to
    if app.graph.live_generation() is None:
        # A fresh database (or a Redis that lost its data): the calendar and "followed here" need the graph.
        from digest.graph.sync import rebuild as rebuild_graph

        stats = rebuild_graph(app.graph, app.engine)
        click.echo(f"lanyard up: built the graph ({stats.follows} follows, {stats.attendances} attendances)")
    me = [sys.executable, "-m", "lanyard_cli"]
    parts = [
        Part("site", [*me, "serve", "site", "--host", host, "--port", str(port)]),
        Part("worker", [*me, "worker", "-c", str(concurrency), "-l", "WARNING"]),
        Part("beat", [*me, "beat", "-l", "WARNING"]),
    ]
    previous = signal.signal(signal.SIGTERM, _raise_stop)
    code = 0
    try:
        for part in parts:
            # Own sessions: a terminal's Ctrl-C reaches only this process, which stops the
            # parts in order (a second SIGINT would turn the worker's warm shutdown cold).
            part.process = subprocess.Popen(part.args, start_new_session=True, preexec_fn=_die_with_parent)
        click.echo(f"lanyard up: the site on http://{host}:{port}/ (with the emails' /u/ and /r/ links), "
                   f"a worker ({concurrency} processes) and the beat; Ctrl-C stops them all")
        code = _wait_for_one(parts)
    except (_Stop, KeyboardInterrupt):
        click.echo("lanyard up: stopping")
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the stopping short
        _stop_all(parts)
        signal.signal(signal.SIGTERM, previous)
    if code:
        raise click.ClickException(f"a part stopped on its own (exit {code}); the others were stopped")


def _wait_for_one(parts: list[Part]) -> int:
    """Block until a part ends; its exit code (1 when it ended with 0: it should not end)."""
    while True:
        for part in parts:
            assert part.process is not None
            code = part.process.poll()
            if code is not None:
                click.echo(f"lanyard up: the {part.name} ended (exit {code})", err=True)
                return code or 1
        time.sleep(0.5)


def _stop_all(parts: list[Part]) -> None:
    """SIGTERM to every running part, then wait; SIGKILL what is still there after the grace."""
    running = [p.process for p in parts if p.process is not None and p.process.poll() is None]
    for process in running:
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for process in running:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


COMMANDS = [up]
