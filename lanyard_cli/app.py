"""What the commands share: settings, loaded once, and the stores built from them."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

import click

from digest.handles import Handles

# How to start this command in a child process (a worker for `lanyard runs start --wait`).
LANYARD = (sys.executable, "-m", "lanyard_cli")


class App(Handles):
    """Lazily built handles on lanyard's stores, for one command invocation, and the Celery
    app and Django on the same settings."""

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
        from lanyard_site.boot import django_setup

        django_setup()

    def migrate(self, verbosity: int = 0) -> None:
        _ = self.settings
        from lanyard_site.boot import migrate

        migrate(verbosity)


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
