"""Entry point of the `lanyard` console script.

Every failure a user can cause or meet (bad configuration, a store that is down, bad
arguments) ends in one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import sys

import click

from digest.config import ConfigError

from .app import App


class UserFacingError(click.ClickException):
    """One line for the user; exit code 1 (2 for configuration, like a usage error)."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click reads it per instance


def explain(error: BaseException) -> UserFacingError | None:
    """Turn the errors users meet into one clear line; None for genuine bugs."""
    import redis
    import sqlalchemy.exc

    from digest.stores.redis_store import RedisUnavailable

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


class LanyardGroup(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:
            friendly = explain(error)
            if friendly is None:
                raise
            raise friendly from error


@click.group(cls=LanyardGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def cli(ctx):
    """lanyard: events, the people at them, and a nightly digest of both."""
    ctx.obj = App()


def _register() -> None:
    from . import bounces, coverage, database, demo, digest, graph, scheduler, search, seed, serve, unsubscribe

    for module in (database, seed, graph, demo, digest, serve, unsubscribe, bounces, scheduler, search, coverage):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="lanyard")
    except KeyboardInterrupt:
        click.echo("lanyard: interrupted", err=True)
        sys.exit(130)
