"""The API object (django-ninja): its routers, error handlers and OpenAPI document.

Errors are problems (RFC 9457) from here and from ``middleware.as_problem``; the OpenAPI
document says so for every operation (``openapi.py``), so the fuzzer holds us to it.
"""

from __future__ import annotations

import logging

import redis
from csp.decorators import csp_update
from django.db import DatabaseError
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError

from digest.errors import GraphMissing
from digest.ops.readonly import ReadOnlyError
from digest.search import SearchError

from . import catalogue, me, search
from .openapi import document
from .problems import ApiProblem, problem_response

log = logging.getLogger("lanyard.api")
AWAY = (redis.RedisError, GraphMissing, SearchError, DatabaseError)


class LanyardApi(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        return document(super().get_openapi_schema(*args, **kwargs))


api = LanyardApi(
    title="lanyard",
    version="1",
    description=(
        "The public read API of lanyard: events, talks, people, topics, coverage and search, "
        "and your own calendar, follows and subscriptions with a personal API token. "
        "Lists page by cursor (`next`); answers carry ETag and Last-Modified; errors are RFC 9457 problems."
    ),
    urls_namespace="api-v1",
    docs=Swagger(settings={"persistAuthorization": False, "defaultModelsExpandDepth": 0}),
    docs_url="/docs/",
    # Swagger UI's stylesheet draws its icons as data: images; everything else is the site's own.
    docs_decorator=csp_update({"img-src": ["data:"]}),
)
api.add_router("", catalogue.router, tags=["catalogue"])
api.add_router("", search.router, tags=["search"])
api.add_router("", me.router)


@api.exception_handler(ApiProblem)
def _problem(request, error: ApiProblem):
    return problem_response(error.status, error.detail, headers=error.headers, **error.extra)


@api.exception_handler(ValidationError)
def _invalid(request, error: ValidationError):
    errors = [{"loc": [str(part) for part in e.get("loc", ())], "msg": str(e.get("msg", "")),
               "type": str(e.get("type", ""))} for e in error.errors]
    where = ", ".join(".".join(e["loc"]) for e in errors) or "the request"
    return problem_response(422, f"Not valid: {where}.", errors=errors)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, error: AuthenticationError):
    return problem_response(
        401, "Sign in, or send a personal API token (Authorization: Bearer …) made on your profile page.",
        headers={"WWW-Authenticate": 'Bearer realm="lanyard"'},
    )


@api.exception_handler(HttpError)
def _http_error(request, error: HttpError):
    return problem_response(error.status_code, str(error))


@api.exception_handler(ReadOnlyError)
def _read_only(request, error: ReadOnlyError):
    return problem_response(503, "lanyard is read-only for a few minutes.", headers={"Retry-After": "120"})


@api.exception_handler(Exception)
def _unexpected(request, error: Exception):
    if isinstance(error, AWAY):
        log.warning("API %s: a store is away: %s", request.path, error)
        return problem_response(503, "A store behind this answer is away; try again shortly.",
                                headers={"Retry-After": "60"})
    log.error("API %s failed", request.path, exc_info=error)
    return problem_response(500, "Something went wrong on our side; it has been logged.")
