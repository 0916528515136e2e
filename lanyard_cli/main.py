"""Entry point of the `lanyard` console script.

Every failure a user can cause or meet (bad configuration, a store that is down, bad
arguments) ends in one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import sys
import time

import click
import redis

from digest.config import ConfigError, load_settings
from digest.stores.redis_store import client_name, embedded_redis_running, stop_embedded_redis

from .app import App


class UserFacingError(click.ClickException):
    """One line for the user; exit code 1 (2 for configuration, like a usage error)."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click reads it per instance


def explain(error: BaseException) -> UserFacingError | None:
    """Turn the errors users meet into one clear line; None for genuine bugs."""

    import sqlalchemy.exc

    from digest.errors import RedisUnavailable

    if isinstance(error, ConfigError):
        return UserFacingError(f"configuration: {error}", exit_code=2)
    if isinstance(error, sqlalchemy.exc.OperationalError):
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        return UserFacingError(
            f"cannot use the database ({reason}); check LANYARD_DATABASE_URL and that the server runs"
        )
    if isinstance(error, sqlalchemy.exc.ProgrammingError) and "does not exist" in str(error.orig):
        return UserFacingError("the database has no lanyard tables; run `lanyard migrate` first")
    if isinstance(error, (redis.ConnectionError, redis.TimeoutError, RedisUnavailable)):
        return UserFacingError(f"cannot reach Redis ({error}); check LANYARD_REDIS_URL and that the server runs")
    try:
        import django.db.utils

        if isinstance(error, django.db.utils.OperationalError):
            return UserFacingError(f"cannot use the database ({error}); check LANYARD_DATABASE_URL")
    except ImportError:
        pass
    return None


# Commands that run until stopped keep the embedded Redis they started: others use it.
LONG_RUNNING = frozenset({"worker", "beat", "serve", "up"})


class LanyardGroup(click.Group):
    def invoke(self, ctx):
        embedded = _embedded_redis_dir()
        was_running = embedded is not None and embedded_redis_running(embedded)
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:
            friendly = explain(error)
            if friendly is None:
                raise
            raise friendly from error
        finally:
            if embedded is not None and not was_running and ctx.invoked_subcommand not in LONG_RUNNING:
                _stop_if_unused(embedded)


def _embedded_redis_dir():
    """The data directory when this configuration uses the embedded Redis, else None."""
    try:
        settings = load_settings()
    except ConfigError:
        return None  # the command itself will say what is wrong
    return settings.data_dir if settings.redis.url is None and settings.redis.broker_url is None else None


def _stop_if_unused(data_dir) -> None:
    """Stop the embedded Redis this command started, unless another process uses it meanwhile.

    This process's own connections are named ``lanyard-<pid>`` (digest.stores.redis_store.connect);
    the broker's pool of the Celery app, if the command made one, is closed first.
    """
    if not embedded_redis_running(data_dir):
        return
    celery_app = sys.modules.get("scheduler.app")
    if celery_app is not None and celery_app.app_for.cache_info().currsize:
        celery_app.app_for(load_settings()).pool.force_close_all()
    mine = client_name()
    checker = redis.Redis(unix_socket_path=str(data_dir / "redis.sock"), socket_timeout=2, client_name=mine)
    try:
        # A connection closed a moment ago can still be listed; give the server that moment.
        deadline = time.monotonic() + 2
        while True:
            others = [c for c in checker.client_list() if c.get("name") != mine]
            if not others:
                break
            if time.monotonic() > deadline:
                return  # a worker, a server or another command uses it: it stays up
            time.sleep(0.05)
    except redis.RedisError:
        return
    finally:
        checker.close()
    stop_embedded_redis(data_dir)


@click.group(cls=LanyardGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def cli(ctx):
    """lanyard: events, the people at them, and a nightly digest of both."""
    ctx.obj = App()


def _register() -> None:
    from .commands import (
        accounts,
        bounces,
        coverage,
        database,
        demo,
        digests,
        graph,
        ops,
        runs,
        schedule,
        search,
        seed,
        serve,
        solr,
        unsubscribe,
        up,
        workers,
    )

    modules = (
        database, seed, graph, demo, digests, serve, unsubscribe, bounces, workers, schedule, runs, search, solr,
        coverage, ops, up, accounts,
    )
    for module in modules:
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="lanyard")
    except KeyboardInterrupt:
        click.echo("lanyard: interrupted", err=True)
        sys.exit(130)
