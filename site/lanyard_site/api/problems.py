"""Errors as RFC 9457 problem details (``application/problem+json``), every one of them."""

from __future__ import annotations

import json
from http import HTTPStatus

from django.http import HttpResponse

PROBLEM = "application/problem+json"
# Headers of an error response that say something to the client and are kept when an
# error from elsewhere (Django's 404, a 405) is turned into a problem.
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate", "Vary", "RateLimit-Limit", "RateLimit-Remaining",
                "RateLimit-Reset", "Access-Control-Allow-Origin", "Access-Control-Expose-Headers")


class ApiProblem(Exception):
    """Raised by an endpoint: answered as a problem with this status and detail."""

    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None, **extra):
        super().__init__(detail)
        self.status, self.detail, self.headers, self.extra = status, detail, headers or {}, extra


def problem_response(status: int, detail: str = "", *, headers: dict[str, str] | None = None, **extra) -> HttpResponse:
    phrase = HTTPStatus(status).phrase
    body = {"type": "about:blank", "title": phrase, "status": status, "detail": detail or phrase, **extra}
    response = HttpResponse(json.dumps(body), status=status, content_type=PROBLEM)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def as_problem(response: HttpResponse) -> HttpResponse:
    """An error response from outside the API's handlers (Django's 404 page, a 405) as a problem."""
    if response.status_code < 400 or response.get("Content-Type", "").startswith(PROBLEM):
        return response
    detail = {404: "There is nothing at this address.", 405: "This address does not take that method."}.get(
        response.status_code, ""
    )
    kept = {name: response[name] for name in KEPT_HEADERS if response.has_header(name)}
    return problem_response(response.status_code, detail, headers=kept)
