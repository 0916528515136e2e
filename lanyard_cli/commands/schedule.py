"""`lanyard schedule show|set`: the runtime schedule (digest/runs/runtime.py)."""

from __future__ import annotations

import click

from ..app import one_line_errors, who_is_changing


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

    with one_line_errors():
        before = schedule_get(app.engine)
        # Through the live-settings group: the change is checked the same way and audited.
        ScheduleSettingGroup().apply(app.engine, changes, changed_by=who_is_changing(), via="cli")
        after = schedule_get(app.engine)
    if before.paused and not after.paused:
        app.enqueue.sweep()  # chunks that waited out the pause go again now
    _print_schedule(after)


def _print_schedule(current) -> None:
    from digest.runs.due import WEEKDAYS

    click.echo(f"paused:            {'yes' if current.paused else 'no'}")
    click.echo(f"tick_seconds:      {current.tick_seconds}")
    click.echo(f"default_send_hour: {current.default_send_hour:02d}:00 local time")
    click.echo(f"lists:             {','.join(current.lists) or '(none)'}")
    click.echo(f"weekly_day:        {current.weekly_day} ({WEEKDAYS[current.weekly_day]})")
    click.echo(f"rate_limit:        {current.rate_limit or 'unlimited'}{' messages/s' if current.rate_limit else ''}")
    click.echo(f"chunk_size:        {current.chunk_size}")
    click.echo(f"chunk_timeout:     {current.chunk_timeout} s")
    click.echo(f"max_attempts:      {current.max_attempts}")


COMMANDS = [schedule]
