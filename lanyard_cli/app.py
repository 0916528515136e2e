"""What the commands share: settings, loaded once, and the stores built from them."""

from __future__ import annotations

import getpass
import os
from functools import cached_property

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
