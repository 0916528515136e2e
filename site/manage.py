#!/usr/bin/env python
"""Django's command-line utility for the lanyard site."""
import os
import sys
from pathlib import Path

if __name__ == "__main__":
    # Run from a checkout without installing: make lanyard_site and digest importable.
    here = Path(__file__).resolve().parent
    sys.path[:0] = [str(here), str(here.parent)]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lanyard_site.settings")
    from django.core.management import execute_from_command_line

    from digest.config import ConfigError

    try:
        execute_from_command_line(sys.argv)
    except ConfigError as error:  # a bad LANYARD_* value: one line naming it, like `lanyard`
        print(f"configuration: {error}", file=sys.stderr)
        sys.exit(2)
