"""The site's readiness: its databases, Redis and the search engine answer."""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from django.db import connections

from digest.ops.health import (
    check,
    database_probe,
    readiness,
    redis_probe,
    search_probe,
)
from digest.search import open_search

from .. import stores


@lru_cache(maxsize=1)
def _search():
    return open_search(settings.LANYARD)


def site_readiness() -> tuple[int, dict]:
    checks = [check(f"database:{alias}", database_probe(stores.engine(alias))) for alias in connections]
    checks.append(check("redis", redis_probe(stores.redis())))
    checks.append(check("search", search_probe(_search)))
    return readiness(checks)
