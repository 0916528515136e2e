"""The site's WSGI application, for gunicorn (``-c python:lanyard_site.gunicorn_conf`` checks
the configuration before workers start; without it, each worker does so here)."""

import os
import sys

from django.core.wsgi import get_wsgi_application

from digest.config import ConfigError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lanyard_site.settings")
try:
    application = get_wsgi_application()
except ConfigError as error:
    print(f"lanyard site: configuration: {error}", file=sys.stderr)
    # gunicorn's "worker failed to boot" code: the master stops instead of starting it again.
    raise SystemExit(3) from None
