"""lanyard's one outgoing HTTP client (see ``client.py`` for its rules)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from digest.http.client import Fetched, HttpClient, HttpConfig, Observer, RequestRecord
from digest.http.errors import Failed, HttpError, Refused, TimedOut, TooLarge

__all__ = [
    "Failed", "Fetched", "HttpClient", "HttpConfig", "HttpError", "Observer", "Refused", "RequestRecord", "TimedOut",
    "TooLarge", "http_config",
]

if TYPE_CHECKING:
    from digest.config import Settings


def http_config(settings: Settings) -> HttpConfig:
    """The client's configuration from lanyard's settings."""
    return HttpConfig(allow_networks=settings.http.allow_networks, proxy=settings.http.proxy,
                      deadline=settings.http.deadline)
