"""What the commands share: settings, loaded once, and the stores built from them."""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

import click

from digest.config import Settings, load_settings


class App:
    """Lazily built handles on lanyard's stores, for one command invocation."""

    @cached_property
    def settings(self) -> Settings:
        return load_settings()

    @cached_property
    def engine(self):
        from digest.stores.db import make_engine

        return make_engine(self.settings.database)

    @cached_property
    def redis(self):
        from digest.stores.redis_store import connect

        return connect(self.settings)

    @cached_property
    def graph(self):
        from digest.graph.store import Graph

        return Graph(self.redis, self.settings.redis_prefix)

    @cached_property
    def celery(self):
        """The Celery app on these settings (loaded only by commands that send or run tasks)."""
        from scheduler.app import app_for

        return app_for(self.settings)

    @cached_property
    def enqueue(self):
        """Sends tasks to the workers: the run services' RunQueue."""
        from scheduler.enqueue import Enqueue

        return Enqueue(self.celery)

    def setup_django(self) -> None:
        """Start Django (for migrations and the site) on the same settings."""
        _ = self.settings  # fail on bad configuration before Django does, with our message
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lanyard_site.settings")
        import django

        django.setup()

    def migrate(self, verbosity: int = 0) -> None:
        self.setup_django()
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=verbosity)


def who_is_changing() -> str:
    """How the audit trail names an operator at this terminal."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name for this uid (a container)
        return "cli"


@contextmanager
def one_line_errors(also: tuple[type[Exception], ...] = ()) -> Iterator[None]:
    """Turns a refusal (a run control's, a schedule value's, a bad value) into one line for the operator."""
    from digest.runs.runtime import ScheduleError
    from digest.runs.state import RunControlError

    try:
        yield
    except click.ClickException:
        raise
    except (RunControlError, ScheduleError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    except also as error:
        raise click.ClickException(str(error)) from None
