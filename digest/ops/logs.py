"""Logging and error reporting, the same for the site, the workers and the unsubscribe endpoint.

Logs go to stderr, as readable lines or (``LANYARD_LOG_FORMAT=json``) one JSON object a
line with the traceback in ``exc_info``; every unhandled error is logged with its
traceback. With ``SENTRY_DSN`` set, errors also go to Sentry through sentry-sdk.
"""

from __future__ import annotations

import logging
import logging.config
from collections.abc import Sequence
from typing import Any

from digest.config import Settings

CONSOLE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(process)d %(threadName)s"


def logging_config(settings: Settings, *, service: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dictionary (Django's LOGGING is this too)."""
    if settings.log.format == "json":
        formatter = {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": JSON_FIELDS,
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "static_fields": {"service": service},
        }
    else:
        formatter = {"format": CONSOLE_FORMAT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"lanyard": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "lanyard"}},
        "root": {"handlers": ["stderr"], "level": "INFO"},
        "loggers": {
            # Django's own handlers would print request errors a second time, without JSON.
            "django": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "django.server": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        },
    }


def configure_logging(settings: Settings, *, service: str) -> None:
    logging.config.dictConfig(logging_config(settings, service=service))


def init_sentry(settings: Settings, *, service: str, integrations: Sequence[Any] = ()) -> bool:
    """Start sentry-sdk when ``SENTRY_DSN`` is set; True when it was started."""
    if not settings.log.sentry_dsn:
        return False
    # Only imported when configured: a process without a DSN never loads the SDK.
    import sentry_sdk  # noqa: PLC0415 -- a process without a DSN never loads the SDK

    sentry_sdk.init(
        dsn=settings.log.sentry_dsn,
        environment=settings.environment,
        server_name=service,
        integrations=list(integrations),
        send_default_pii=False,
        traces_sample_rate=0,
    )
    sentry_sdk.set_tag("service", service)
    return True
