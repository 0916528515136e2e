"""`lanyard ops …`: read-only mode, feature flags, live settings; `lanyard stop`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

import click
import redis

from digest.ops.audit import OpsChange, ops_change_log, ops_changes_latest
from digest.ops.flags import FLAGS, FlagError, flag_set, flags_read
from digest.ops.live import OpsSettingGroup, Registry, SettingError
from digest.ops.readonly import read_only_read, read_only_set
from digest.runs.runtime import ScheduleSettingGroup
from digest.stores.redis_store import stop_embedded_redis

from ..app import who_is_changing

T = TypeVar("T")


def read_state(what: str, read: Callable[[], T]) -> T:
    """A read of the ops state that says so when it could not be made (exit 1), never a default."""
    try:
        return read()
    except redis.RedisError as error:
        raise click.ClickException(
            f"could not read {what}: Redis did not answer ({error}); check LANYARD_REDIS_URL and that the server runs"
        ) from None


def registry(app) -> Registry:
    return Registry([OpsSettingGroup(app.redis, prefix=app.settings.redis.prefix), ScheduleSettingGroup()])


@click.group()
def ops():
    """Operate a running lanyard: read-only mode, feature flags, live settings."""


@ops.command("read-only")
@click.argument("state", type=click.Choice(["on", "off", "status"]))
@click.option("--message", default="", help="Shown in the site's banner while read-only.")
@click.pass_obj
def read_only(app, state, message):
    """Switch read-only mode on or off (applies to the next request), or show it."""
    prefix = app.settings.redis.prefix
    before = read_state("the read-only state", lambda: read_only_read(app.redis, prefix=prefix))
    if state != "status":
        after = read_only_set(app.redis, prefix=prefix, on=state == "on", message=message, by=who_is_changing())
        ops_change_log(app.engine, change=OpsChange("read_only", before.on, after.on, who_is_changing(), "cli"))
        before = after
    if before.on:
        click.echo(f"read-only: on since {before.since} ({before.by}): {before.message}")
    else:
        click.echo("read-only: off")


@ops.command("flags")
@click.pass_obj
def flags_list(app):
    """Every feature flag and its condition."""
    rules = read_state("the feature flags", lambda: flags_read(app.redis, prefix=app.settings.redis.prefix))
    width = max(len(name) for name in FLAGS)
    for name, flag in FLAGS.items():
        click.echo(f"{name:<{width}}  {str(rules[name]):<24}  {flag.description} (default: {flag.default})")


@ops.command("flag")
@click.argument("name")
@click.argument("condition", metavar="everyone|nobody|staff|superusers|percent=N|people=h1,h2")
@click.pass_obj
def flag_command(app, name, condition):
    """Set a feature flag's condition; the next request sees it."""
    try:
        old, new = flag_set(app.redis, prefix=app.settings.redis.prefix, name=name, condition=condition)
    except FlagError as error:
        raise click.UsageError(str(error)) from None
    ops_change_log(app.engine, change=OpsChange(f"flag:{name}", str(old), str(new), who_is_changing(), "cli"))
    click.echo(f"{name}: {new} (was {old})")


@ops.command("settings")
@click.option(
    "--changes", "show_changes", type=click.IntRange(min=1), help="Also the last N changes (who, what, when)."
)
@click.pass_obj
def settings_list(app, show_changes):
    """Every live setting: value, type and meaning."""
    reg = registry(app)
    current = reg.current(app.engine)
    width = max(len(s.name) for s in reg.describe())
    for setting in reg.describe():
        value = current.get(setting.name)
        click.echo(f"{setting.name:<{width}}  {json.dumps(value):<16}  {setting.kind:<5}  {setting.description}")
    if show_changes:
        click.echo("")
        for change in ops_changes_latest(app.engine, limit=show_changes):
            click.echo(
                f"{change['changed_at']:%Y-%m-%d %H:%M:%S}  {change['name']}: {json.dumps(change['old_value'])} -> "
                f"{json.dumps(change['new_value'])}  by {change['changed_by']} ({change['via']})"
            )


@ops.command("set")
@click.argument("assignments", nargs=-1, required=True, metavar="NAME=VALUE...")
@click.pass_obj
def settings_set(app, assignments):
    """Change live settings, e.g. `lanyard ops set site_banner="Maintenance at 22:00" profile_sample_rate=0.01`.

    Every value is checked first: one bad value changes nothing.
    """
    changes = {}
    for assignment in assignments:
        name, sep, value = assignment.partition("=")
        if not sep or not name.strip():
            raise click.UsageError(f"{assignment!r} is not NAME=VALUE")
        changes[name.strip().replace("-", "_")] = value
    reg = registry(app)
    try:
        done = reg.set(app.engine, changes, changed_by=who_is_changing(), via="cli")
    except SettingError as error:
        raise click.UsageError(str(error)) from None
    if "paused" in done and not done["paused"][1]:
        app.enqueue.sweep()  # chunks that waited out the pause go again now
    for name, (old, new) in done.items():
        click.echo(f"{name}: {json.dumps(old)} -> {json.dumps(new)}")
    if not done:
        click.echo("nothing changed")


@click.command()
@click.pass_obj
def stop(app):
    """Stop the embedded Redis of the data directory (it starts again when a command needs it)."""
    settings = app.settings
    if settings.redis.url:
        click.echo("nothing to stop: LANYARD_REDIS_URL points at an external Redis")
        return
    if stop_embedded_redis(settings.data_dir):
        click.echo(f"stopped the embedded Redis of {settings.data_dir}")
    else:
        click.echo(f"the embedded Redis of {settings.data_dir} was not running")


COMMANDS = [ops, stop]
