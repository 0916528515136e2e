"""gunicorn's logger for both of lanyard's gunicorns (the site's, the unsubscribe
endpoint's): an access line only when the operator asked for one.

gunicorn builds every request's access line (its atoms, then a log record) whenever
any logging configuration is given, and lanyard always gives one (``logconfig_dict``,
so gunicorn's own lines look like every other lanyard line). Without
``--access-logfile`` nothing handles those records: the work was thrown away on every
request, 9% of the endpoint's event loop under bench/unsubscribe.py (a py-spy profile).
"""

from __future__ import annotations

from gunicorn import glogging


class AccessOnRequestLogger(glogging.Logger):
    """gunicorn's ``Logger``, with access lines built only for ``--access-logfile``
    (or ``accesslog`` in a configuration file)."""

    def _compute_access_log_enabled(self) -> bool:
        return bool(self.cfg.accesslog)
