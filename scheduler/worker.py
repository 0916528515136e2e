"""The app for Celery's own command line: ``celery -A scheduler.worker worker|beat|inspect``.

Built from the ``LANYARD_*`` environment at import, which is what Celery's CLI needs;
everything else builds its app from a Settings object it was handed
(:func:`scheduler.app.create_app`). `lanyard worker` and `lanyard beat` are the usual way.
"""

from digest.config import load_settings

from .app import app_for
from .observe import worker_observability

_settings = load_settings()
worker_observability(_settings, service="worker")
app = app_for(_settings)
