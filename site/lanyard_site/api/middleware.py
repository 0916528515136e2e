"""Everything every request under /api/ goes through, around the endpoints:

- a ``Bearer`` token is looked up once (an unknown or revoked one is a 401 at once);
- a rate limit per token, or per address without one (429 with ``Retry-After``);
- the ``api`` feature flag (503 while it is off) and read-only mode (a write is a 503
  with ``Retry-After``, before it reaches an endpoint);
- ``HEAD`` answered as ``GET`` without the body;
- conditional GETs: an ``ETag`` of the body and a ``Last-Modified`` (304 for a match);
- every error, wherever it was made (Django's 404, a 405), as a problem (RFC 9457).
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from digest.ops.ratelimit import RateLimit, Verdict, rate_take

from .. import stores
from ..ops.services import flag_active, request_snapshot
from . import conditional
from .models import ApiToken
from .problems import as_problem, problem_response
from .selectors import api_token_find
from .services import api_token_touch

log = logging.getLogger("lanyard.api")

PREFIX = "/api/"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
READ_ONLY_RETRY = "120"


def _limits() -> tuple[RateLimit, RateLimit]:
    """Requests a minute per token and per address (LANYARD_API_TOKEN_RATE, LANYARD_API_RATE).
    A token is a known person's program, so it gets more than an address, which many may share.
    Django settings of the same names override them (tests use short windows)."""
    per_token = RateLimit(requests=settings.LANYARD.site.api_token_rate, seconds=60)
    per_address = RateLimit(requests=settings.LANYARD.site.api_rate, seconds=60)
    return (getattr(settings, "LANYARD_API_RATE_PER_TOKEN", per_token),
            getattr(settings, "LANYARD_API_RATE_PER_ADDRESS", per_address))


class ApiRequest(HttpRequest):
    """A request under /api/ as this middleware leaves it (for annotations)."""

    api_token: ApiToken | None  # the live token the request carries


class ApiMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: ApiRequest) -> HttpResponse:
        if not request.path_info.startswith(PREFIX):
            return self.get_response(request)
        head = request.method == "HEAD"
        if head:
            request.method = "GET"
        response = as_problem(self._answer(request))
        if head:
            request.method = "HEAD"
            response.content = b""
        return response

    def _answer(self, request: ApiRequest) -> HttpResponse:
        refusal = self._token(request)
        if refusal is not None:
            return refusal
        verdict = self._rate(request)
        if verdict is not None and not verdict.allowed:
            return _rate_headers(problem_response(
                429, f"Too many requests: {verdict.limit} a window; try again in {verdict.reset} seconds.",
                headers={"Retry-After": str(verdict.reset)},
            ), verdict)
        if not flag_active(request, "api"):
            return problem_response(503, "The API is switched off for a while.", headers={"Retry-After": "300"})
        state = request_snapshot(request).read_only
        if state.on and request.method in UNSAFE:
            return problem_response(503, state.message, headers={"Retry-After": READ_ONLY_RETRY})
        token = request.api_token
        if token is not None and not state.on:
            api_token_touch(token=token)
        response = self.get_response(request)
        if verdict is not None:
            _rate_headers(response, verdict)
        return conditional.respond(request, response)

    @staticmethod
    def _token(request: ApiRequest) -> HttpResponse | None:
        """``request.api_token``: the live token the request carries, or None without one."""
        request.api_token = None
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        token = api_token_find(value.strip())
        if token is None:
            return problem_response(
                401, "The token is unknown or revoked; make a new one on your profile page.",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        request.api_token = token
        return None

    @staticmethod
    def _rate(request: ApiRequest) -> Verdict | None:
        per_token, per_address = _limits()
        token = request.api_token
        client, limit = (f"token:{token.pk}", per_token) if token else (f"ip:{_address(request)}", per_address)
        verdict = rate_take(stores.redis(), prefix=settings.LANYARD.redis.prefix, client=client, limit=limit,
                            now=time.time())
        if verdict is None:
            log.warning("API rate limits not counted: Redis cannot be reached")
        return verdict


def _address(request: HttpRequest) -> str:
    # Behind the TLS proxy, ops.proxy.ProxyHeadersMiddleware has put the client's address here.
    return request.META.get("REMOTE_ADDR", "")[:64]


def _rate_headers(response: HttpResponse, verdict: Verdict) -> HttpResponse:
    response["RateLimit-Limit"] = str(verdict.limit)
    response["RateLimit-Remaining"] = str(verdict.remaining)
    response["RateLimit-Reset"] = str(verdict.reset)
    return response
