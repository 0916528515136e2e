"""Conditional GETs for the API: an ``ETag`` of the body, and a ``Last-Modified`` that is the
time this URL first answered with that body (kept in Redis per URL and viewer), so
``If-None-Match`` and ``If-Modified-Since`` both answer 304 when nothing changed. Without
Redis the ``ETag`` alone still works."""

from __future__ import annotations

import hashlib
import logging
import time

import redis as redis_lib
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import http_date

from digest.stores.keys import RedisKeys
from digest.stores.scripts import lua

from .. import stores

log = logging.getLogger("lanyard.api")
SEEN_SECONDS = 7 * 86400
PUBLIC_CACHE = "public, max-age=30"
PRIVATE_CACHE = "private, no-cache"


def respond(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    if request.method != "GET" or response.status_code != 200 or response.streaming:
        return response
    personal = getattr(request, "api_person_id", None)
    if not response.has_header("Cache-Control"):
        response["Cache-Control"] = PRIVATE_CACHE if personal is not None else PUBLIC_CACHE
    if personal is not None:
        patch_vary_headers(response, ["Authorization", "Cookie"])
    etag = '"' + hashlib.sha256(response.content).hexdigest()[:32] + '"'
    response["ETag"] = etag
    modified = _first_served(f"{personal or 'public'} {request.get_full_path()}", etag)
    if modified is not None:
        response["Last-Modified"] = http_date(modified)
    answer = get_conditional_response(request, etag=etag, last_modified=modified, response=response)
    return answer if answer is not None else response  # given a response, it never answers None


def _first_served(resource: str, etag: str) -> int | None:
    """The time ``resource`` first answered with ``etag`` (one round trip: a Lua script)."""
    key = RedisKeys(settings.LANYARD.redis.prefix).api_seen(hashlib.sha256(resource.encode()).hexdigest()[:40])
    redis = stores.redis()
    try:
        return int(redis.register_script(lua("api_first_served"))(keys=[key], args=[etag, int(time.time()),
                                                                                   SEEN_SECONDS]))
    except redis_lib.RedisError:
        log.warning("API Last-Modified left out: Redis cannot be reached")
        return None
