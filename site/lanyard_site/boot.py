"""Starting Django outside a web server (the `lanyard` command, the benches): the settings
module, ``django.setup()``, and the migrations."""

from __future__ import annotations

import os


def django_setup() -> None:
    """Start Django on lanyard's settings (built from the same ``LANYARD_*`` environment)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lanyard_site.settings")
    import django  # noqa: PLC0415 -- Django loads only where it is started

    django.setup()


def migrate(verbosity: int = 0) -> None:
    """Bring the database's schema up to date (Django's migrations own every table)."""
    django_setup()
    from django.core.management import call_command  # noqa: PLC0415 -- only once Django is set up

    call_command("migrate", interactive=False, verbosity=verbosity)
