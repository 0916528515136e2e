"""The site's operations middleware: health probes, read-only mode, profiling, errors.

- ``HealthMiddleware`` answers ``/healthz`` and ``/readyz`` before anything else (no host
  check, no TLS redirect, no session), as load balancers probe them.
- ``OpsMiddleware`` refuses writes while lanyard is read-only: unsafe methods get the 503
  page, and every database write of the request is refused at the connection level.
- ``ProfileMiddleware`` records superusers' requests and a sampled fraction of the rest.
- ``ErrorMiddleware`` shows superusers Django's technical 500 page (others get the site's
  500 page from Django), logging the traceback and sending it to Sentry either way.
"""

from __future__ import annotations

import logging
import random
import re

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.debug import technical_500_response

from digest.ops.readonly import ReadOnlyError, writes_refused
from digest.stores.profile import Recorder, profile_save, recording

from .. import stores
from . import health
from .services import request_snapshot

log = logging.getLogger("lanyard.site")

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Writable while read-only: the operator's switch itself.
READ_ONLY_EXEMPT = ("/admin/ops/",)
PROFILE_HEADER = "X-Lanyard-Profile"
_HEAD = re.compile(rb"<head[^>]*>", re.I)
CLIENT_ERRORS = (Http404, PermissionDenied, BadRequest, SuspiciousOperation)


class HealthMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == "/healthz":
            return JsonResponse({"status": "ok"})
        if request.path_info == "/readyz":
            status, checks = health.site_readiness()
            return JsonResponse(health.readiness_body(checks, detailed=health.sees_details(request)), status=status)
        return self.get_response(request)


def read_only_page(request, state) -> HttpResponse:
    response = render(request, "ops/read_only.html", {"state": state}, status=503)
    response["Retry-After"] = "120"
    return response


class OpsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        state = request_snapshot(request).read_only
        if not state.on or request.path_info.startswith(READ_ONLY_EXEMPT):
            return self.get_response(request)
        if request.method in UNSAFE:
            return read_only_page(request, state)
        with writes_refused():
            return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, ReadOnlyError):
            return read_only_page(request, request_snapshot(request).read_only)
        return None


class ProfileMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not self.wanted(request):
            return self.get_response(request)
        recorder = Recorder(name=f"{request.method} {request.get_full_path()[:500]}")
        with recording(recorder):
            response = self.get_response(request)
        mark_page(response, recorder.id)
        try:
            profile_save(
                stores.redis(),
                prefix=settings.LANYARD.redis.prefix,
                profile=recorder.finish(status=response.status_code),
            )
        except Exception as error:  # a profile that cannot be stored must never cost the page
            log.warning("profile %s not stored: %s", recorder.id, error)
        return response

    @staticmethod
    def wanted(request) -> bool:
        if request.path_info.startswith("/_profile/"):
            return False  # looking at a profile would make a new one each time
        rate = request_snapshot(request).settings.get("profile_sample_rate", 0.0)
        if rate and random.random() < rate:
            return True
        # The signed-in cookie says who may be a superuser, so other pages make no user query.
        hint = getattr(request, "signed_in", None)
        if hint is None or not hint.superuser:
            return False
        user = getattr(request, "user", None)
        return bool(user is not None and user.is_authenticated and user.is_superuser)


def mark_page(response, profile_id: str) -> None:
    """The profile's id in a response header and, on HTML pages, in a <meta> for the bookmarklet."""
    response[PROFILE_HEADER] = profile_id
    if response.streaming or not response.get("Content-Type", "").startswith("text/html"):
        return
    meta = f'<meta name="lanyard-profile" content="{profile_id}">'.encode()
    content, count = _HEAD.subn(lambda match: match.group(0) + meta, response.content, count=1)
    if count:
        response.content = content
        if response.has_header("Content-Length"):
            response["Content-Length"] = str(len(content))


class ErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, CLIENT_ERRORS + (ReadOnlyError,)) or not is_superuser(request):
            return None  # Django answers: 4xx, or its 500 handler (logged by django.request, sent to Sentry)
        log.error(
            "Internal Server Error: %s (shown to superuser %s)",
            request.path,
            request.user.get_username(),
            exc_info=exception,
        )
        if settings.LANYARD.log.sentry_dsn:
            import sentry_sdk  # noqa: PLC0415 -- loaded only when a DSN is configured (see settings.py)

            sentry_sdk.capture_exception(exception)
        return technical_500_response(request, type(exception), exception, exception.__traceback__)


def is_superuser(request) -> bool:
    """Whether the user is a superuser; False when even that cannot be known (a database down)."""
    try:
        user = request.user
        return bool(user.is_authenticated and user.is_superuser)
    except Exception:  # the error being handled may be the database's: never raise a second one here
        return False
