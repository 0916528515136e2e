"""`lanyard worker` and `lanyard beat`: the Celery processes."""

from __future__ import annotations

import click


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
    app.celery.worker_main(argv)


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
    app.celery.start(
        ["beat", "--schedule", str(settings.data_dir / "celerybeat-schedule"), "--loglevel", loglevel.upper()]
    )


COMMANDS = [worker, beat]
