"""`lanyard worker`, `lanyard beat`, `lanyard schedule …` and `lanyard runs …`."""

from __future__ import annotations

import datetime as dt

import click

from digest.vocabulary import ACTIVE_RUN_STATUSES, DeliveryFeedback, DigestList, RunStatus

RUN_STATES = [m.value for m in RunStatus]


def _app(app):
    from scheduler.app import app_for

    return app_for(app.settings)


def _enqueue(app):
    from scheduler.enqueue import Enqueue

    return Enqueue(_app(app))


class _Controls:
    """Turns the scheduler's own errors into one line for the operator."""

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        from digest.runs.runtime import ScheduleError
        from digest.runs.state import RunControlError

        if isinstance(error, (RunControlError, ScheduleError, ValueError)) and not isinstance(
            error, click.ClickException
        ):
            raise click.ClickException(str(error)) from None
        return False


# -- worker and beat ------------------------------------------------------------------------


@click.command()
@click.option("--concurrency", "-c", type=click.IntRange(min=1), help="Worker processes [default: one per CPU].")
@click.option(
    "--queues",
    "-Q",
    default="planning,sending,fetching",
    show_default=True,
    help="Queues to consume (planning, sending, fetching).",
)
@click.option("--hostname", "-n", help="Node name, unique per worker (e.g. sender1@%h).")
@click.option(
    "--loglevel",
    "-l",
    default="INFO",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
)
@click.pass_obj
def worker(app, concurrency, queues, hostname, loglevel):
    """Run a Celery worker for the digest tasks (stop with Ctrl-C or SIGTERM: a warm shutdown)."""
    from scheduler.app import QUEUES

    wanted = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = [q for q in wanted if q not in QUEUES]
    if unknown or not wanted:
        raise click.BadParameter(
            f"unknown queue(s) {', '.join(unknown) or '(none)'}; known: {', '.join(QUEUES)}", param_hint="--queues"
        )
    argv = ["worker", "--queues", ",".join(wanted), "--loglevel", loglevel.upper()]
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    if hostname:
        argv += ["--hostname", hostname]
    from scheduler.observe import worker_observability

    worker_observability(app.settings, service="worker")
    _app(app).worker_main(argv)


@click.command()
@click.option(
    "--loglevel",
    "-l",
    default="INFO",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
)
@click.pass_obj
def beat(app, loglevel):
    """Run the beat: a tick every 30 s; the runtime schedule decides which ticks plan."""
    settings = app.settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    from scheduler.observe import worker_observability

    worker_observability(settings, service="beat")
    _app(app).start(
        ["beat", "--schedule", str(settings.data_dir / "celerybeat-schedule"), "--loglevel", loglevel.upper()]
    )


# -- the runtime schedule -------------------------------------------------------------------


@click.group()
def schedule():
    """The runtime schedule (stored in the database; changes apply at the next tick)."""


@schedule.command("show")
@click.pass_obj
def schedule_show(app):
    """Print the schedule."""
    from digest.runs.runtime import schedule_get

    _print_schedule(schedule_get(app.engine))


@schedule.command("set")
@click.argument("assignments", nargs=-1, required=True, metavar="NAME=VALUE...")
@click.pass_obj
def schedule_set_command(app, assignments):
    """Change settings, e.g. `lanyard schedule set paused=true rate_limit=50`.

    Names: paused, tick_seconds, default_send_hour, lists (e.g. daily,weekly),
    weekly_day (0-6 or monday…), rate_limit (messages/s, 0 = unlimited), chunk_size,
    chunk_timeout (seconds), max_attempts.
    """
    from digest.runs.runtime import schedule_get

    changes = {}
    for assignment in assignments:
        name, sep, value = assignment.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{assignment!r} is not NAME=VALUE", param_hint="NAME=VALUE")
        changes[name.strip().replace("-", "_")] = value
    from digest.runs.runtime import ScheduleSettingGroup

    from .app import who_is_changing

    with _Controls():
        before = schedule_get(app.engine)
        # Through the live-settings group: the change is checked the same way and audited.
        ScheduleSettingGroup().apply(app.engine, changes, changed_by=who_is_changing(), via="cli")
        after = schedule_get(app.engine)
    if before.paused and not after.paused:
        _enqueue(app).sweep()  # chunks that waited out the pause go again now
    _print_schedule(after)


def _print_schedule(current) -> None:
    from digest.nightly.schedule import WEEKDAYS

    click.echo(f"paused:            {'yes' if current.paused else 'no'}")
    click.echo(f"tick_seconds:      {current.tick_seconds}")
    click.echo(f"default_send_hour: {current.default_send_hour:02d}:00 local time")
    click.echo(f"lists:             {','.join(current.lists) or '(none)'}")
    click.echo(f"weekly_day:        {current.weekly_day} ({WEEKDAYS[current.weekly_day]})")
    click.echo(f"rate_limit:        {current.rate_limit or 'unlimited'}{' messages/s' if current.rate_limit else ''}")
    click.echo(f"chunk_size:        {current.chunk_size}")
    click.echo(f"chunk_timeout:     {current.chunk_timeout} s")
    click.echo(f"max_attempts:      {current.max_attempts}")


# -- runs ------------------------------------------------------------------------------------


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

    with _Controls():
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
    date = digest_date.date() if digest_date else dt.datetime.now(dt.UTC).date()
    progress = start_and_wait(
        app, list_name=list_name, digest_date=date, dry_run=dry_run, limit=limit, wait=wait, concurrency=concurrency
    )
    print_progress(progress)


def start_and_wait(
    app, *, list_name=DigestList.DAILY, digest_date, dry_run=False, limit=None, wait=True, concurrency=None
):
    """Start a run through Celery; with ``wait``, watch it to its end with a progress bar.

    When no worker answers, one is started for the run and stopped cleanly after it
    (this is how README's first command runs the digest on the embedded Redis).
    """
    from digest.runs.planning import RunRequest, run_start
    from digest.runs.progress import run_progress
    from scheduler.local import start_worker, stop_worker, wait_for_run, workers_answering

    with _Controls():
        request = RunRequest(list_name=list_name, digest_date=digest_date, dry_run=dry_run, limit=limit, chunk_size=0)
        run_id = run_start(app.engine, _enqueue(app), request=request)
    click.echo(f"run {run_id} started: {list_name} digest for {digest_date:%Y-%m-%d}{' (dry run)' if dry_run else ''}")
    if not wait:
        click.echo(f"watch it with `lanyard runs show {run_id} --watch`")
        return run_progress(app.engine, run_id=run_id)
    process = None
    if not workers_answering(_app(app)):
        click.echo(f"no worker is running: starting one for this run (log: {app.settings.data_dir / 'worker.log'})")
        process = start_worker(app.settings.data_dir, concurrency=concurrency)
    try:
        with ProgressBar() as bar:
            progress = wait_for_run(
                app.engine, run_id, on_progress=bar.update,
                alive=(lambda: process.poll() is None) if process else None,
            )
    finally:
        if process is not None:
            code = stop_worker(process)
            click.echo(f"worker stopped (exit {code})")
    if process is not None and progress.status in ACTIVE_RUN_STATUSES and process.returncode not in (0, None):
        raise click.ClickException(
            f"the worker stopped before run {run_id} ended; see {app.settings.data_dir / 'worker.log'}"
        )
    return progress


@runs.command("pause")
@click.argument("run_id", type=click.IntRange(min=1), metavar="RUN")
@click.pass_obj
def runs_pause(app, run_id):
    """Stop sending; chunks wait where they are."""
    from digest.runs.controls import run_pause

    with _Controls():
        run_pause(app.engine, run_id=run_id)
    click.echo(f"run {run_id} paused; `lanyard runs resume {run_id}` goes on")


@runs.command("resume")
@click.argument("run_id", type=click.IntRange(min=1), metavar="RUN")
@click.pass_obj
def runs_resume(app, run_id):
    """Go on with a paused run."""
    from digest.runs.controls import run_resume

    with _Controls():
        run_resume(app.engine, _enqueue(app), run_id=run_id)
    click.echo(f"run {run_id} resumed")


@runs.command("cancel")
@click.argument("run_id", type=click.IntRange(min=1), metavar="RUN")
@click.pass_obj
def runs_cancel(app, run_id):
    """Stop a run for good (what was sent stays sent)."""
    from digest.runs.controls import run_cancel

    with _Controls():
        run_cancel(app.engine, _enqueue(app), run_id=run_id)
    click.echo(f"run {run_id} cancelled")


@runs.command("retry-failed")
@click.argument("run_id", type=click.IntRange(min=1), metavar="RUN")
@click.pass_obj
def runs_retry_failed(app, run_id):
    """Send the run's temporarily failed deliveries again."""
    from digest.runs.controls import run_retry_failed

    with _Controls():
        count = run_retry_failed(app.engine, _enqueue(app), run_id=run_id)
    click.echo(
        f"run {run_id}: {count} failed deliveries queued again" if count else f"run {run_id} has no failed deliveries"
    )


# -- showing progress ------------------------------------------------------------------------


class ProgressBar:
    """A tqdm bar fed with RunSummary snapshots (silent when stderr is not a terminal)."""

    def __enter__(self):
        self.bar = None
        return self

    def update(self, progress) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(
                total=progress.planned, desc=f"run {progress.run_id}", unit="digests", disable=None, leave=True
            )
        self.bar.total = progress.planned
        self.bar.n = progress.processed
        eta = "?" if progress.eta is None else f"{progress.eta:.0f}s"
        self.bar.set_postfix_str(
            f"{progress.status}, sent {progress.sent}, skipped {progress.skipped}, "
            f"failed {progress.failed + progress.bounced}, eta {eta}",
            refresh=False,
        )
        self.bar.refresh()

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()


def print_progress(p) -> None:
    eta = "-" if p.eta is None else ("done" if p.eta == 0 and p.status not in ACTIVE_RUN_STATUSES else f"{p.eta:.0f} s")
    click.echo(
        f"run {p.run_id}: {p.list} digest for {p.digest_date:%Y-%m-%d}, {p.status}{' (dry run)' if p.dry_run else ''}"
    )
    click.echo(
        f"  planned {p.planned}, sent {p.sent}, skipped {p.skipped}, failed {p.failed}, bounced {p.bounced}, "
        f"in flight {p.in_flight}"
    )
    click.echo(f"  chunks {p.chunks_done}/{p.chunks_total}, {p.rate:.1f} digests/s over {p.elapsed:.1f} s, eta {eta}")
    if p.feedback:
        hard, soft, complaints = (
            p.feedback.get(kind, 0)
            for kind in (DeliveryFeedback.HARD_BOUNCE, DeliveryFeedback.SOFT_BOUNCE, DeliveryFeedback.COMPLAINT)
        )
        click.echo(f"  reports since: {hard} hard bounced, {soft} soft bounced, {complaints} complained")
    if p.notes:
        click.echo("  notes:")
        for line in p.notes.splitlines()[-10:]:
            click.echo(f"    {line}")


COMMANDS = [worker, beat, schedule, runs]
