"""`lanyard runs …`: list, watch and start runs, and the operator's controls over them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import click

from digest.vocabulary import DigestList, RunStatus

from ..app import one_line_errors
from ..display import ProgressBar, print_progress, watch_with_a_worker

RUN_STATES = [m.value for m in RunStatus]


@click.group()
def runs():
    """Digest runs: list, watch, start, pause, resume, cancel, retry failed deliveries."""


@runs.command("list")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--status", type=click.Choice(RUN_STATES))
@click.pass_obj
def runs_list_command(app, limit, status):
    """The latest runs, newest first."""
    from digest.runs.progress import runs_list

    found = runs_list(app.engine, limit=limit, status=status)
    if not found:
        click.echo("no runs yet; `lanyard runs start` starts one")
        return
    click.echo(
        f"{'run':>5}  {'list':<6}  {'date':<10}  {'status':<9}  {'planned':>7}  "
        f"{'sent':>7}  {'skipped':>7}  {'failed':>6}  chunks"
    )
    for p in found:
        click.echo(
            f"{p.run_id:>5}  {p.list:<6}  {p.digest_date:%Y-%m-%d}  {p.status:<9}  {p.planned:>7}  "
            f"{p.sent:>7}  {p.skipped:>7}  "
            f"{p.failed + p.bounced:>6}  {p.chunks_done}/{p.chunks_total}{'  (dry run)' if p.dry_run else ''}"
        )


@runs.command("show")
@click.argument("run_id", type=click.IntRange(min=1), metavar="RUN")
@click.option("--watch", is_flag=True, help="A live progress bar until the run ends.")
@click.option(
    "--interval", default=1.0, show_default=True, type=click.FloatRange(min=0.1), help="Seconds between refreshes."
)
@click.pass_obj
def runs_show(app, run_id, watch, interval):
    """Planned, sent, skipped, failed, rate and ETA of one run."""
    from digest.runs.progress import run_progress
    from scheduler.local import wait_for_run

    with one_line_errors():
        progress = run_progress(app.engine, run_id=run_id)
    if watch:
        with ProgressBar() as bar:
            progress = wait_for_run(app.engine, run_id, on_progress=bar.update, poll=interval)
    print_progress(progress)


@runs.command("start")
@click.option(
    "--list",
    "list_name",
    default=DigestList.DAILY.value,
    show_default=True,
    type=click.Choice([m.value for m in DigestList]),
)
@click.option(
    "--date", "digest_date", type=click.DateTime(formats=["%Y-%m-%d"]), help="Digest date [default: today, UTC]."
)
@click.option("--dry-run", is_flag=True, help="Compute and render, send nothing, write no ledger.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many subscriptions.")
@click.option("--wait", is_flag=True, help="Watch the run to its end; start a worker for it when none is running.")
@click.option("--concurrency", type=click.IntRange(min=1), help="Processes of the worker started by --wait.")
@click.pass_obj
def runs_start(app, list_name, digest_date, dry_run, limit, wait, concurrency):
    """Plan a run now (everyone on the list not yet sent this date) and queue its chunks."""
    from digest.runs.planning import RunRequest, run_start
    from digest.runs.progress import run_progress

    date = digest_date.date() if digest_date else dt.datetime.now(dt.UTC).date()
    with one_line_errors():
        request = RunRequest(list_name=list_name, digest_date=date, dry_run=dry_run, limit=limit, chunk_size=0)
        run_id = run_start(app.engine, app.enqueue, request=request)
    click.echo(f"run {run_id} started: {list_name} digest for {date:%Y-%m-%d}{' (dry run)' if dry_run else ''}")
    if wait:
        print_progress(watch_with_a_worker(app, run_id=run_id, concurrency=concurrency))
    else:
        click.echo(f"watch it with `lanyard runs show {run_id} --watch`")
        print_progress(run_progress(app.engine, run_id=run_id))


# -- the operator's controls: one table, one command each ---------------------------------


@dataclass(frozen=True)
class Control:
    name: str  # the command
    service: str  # the function of digest/runs/controls.py
    help: str
    done: Callable[[int, object], str]  # (run id, what the service returned) → the line printed
    queues: bool = True  # the service hands work to the workers


CONTROLS = (
    Control("pause", "run_pause", "Stop sending; chunks wait where they are.",
            lambda run_id, _: f"run {run_id} paused; `lanyard runs resume {run_id}` goes on", queues=False),
    Control("resume", "run_resume", "Go on with a paused run.", lambda run_id, _: f"run {run_id} resumed"),
    Control("cancel", "run_cancel", "Stop a run for good (what was sent stays sent).",
            lambda run_id, _: f"run {run_id} cancelled"),
    Control("retry-failed", "run_retry_failed", "Send the run's temporarily failed deliveries again.",
            lambda run_id, count: f"run {run_id}: {count} failed deliveries queued again" if count
            else f"run {run_id} has no failed deliveries"),
)


def _control_command(control: Control) -> click.Command:
    @click.argument("run_id", type=click.IntRange(min=1), metavar="RUN")
    @click.pass_obj
    def command(app, run_id):
        from digest.runs import controls

        service = getattr(controls, control.service)
        with one_line_errors():
            result = service(app.engine, app.enqueue, run_id=run_id) if control.queues else service(
                app.engine, run_id=run_id
            )
        click.echo(control.done(run_id, result))

    return click.command(control.name, help=control.help)(command)


for _control in CONTROLS:
    runs.add_command(_control_command(_control))


COMMANDS = [runs]
