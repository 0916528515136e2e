"""The endpoint's paths (``/u/``, ``/r/``) served beside another WSGI application.

The emails' links live under ``LANYARD_UNSUBSCRIBE_URL``, which is the site's own URL
unless an operator gives the endpoint a host of its own. A person trying lanyard runs
one local server, so that server must answer those links too: ``lanyard serve site``
and ``lanyard up`` wrap the site with this. Production routes the paths to the
endpoint's own gunicorn at the proxy instead (README, "Unsubscribing").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from digest.vocabulary import URL_PATHS

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
ENDPOINT_PREFIXES = tuple(URL_PATHS.values())


def with_endpoint(site: WSGIApp, endpoint: WSGIApp) -> WSGIApp:
    """One WSGI application: the endpoint's paths go to ``endpoint``, the rest to ``site``."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(ENDPOINT_PREFIXES):
            return endpoint(environ, start_response)
        return site(environ, start_response)

    return application
