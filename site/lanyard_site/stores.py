"""The site's handles on lanyard's stores, made once per process from settings.LANYARD."""

from functools import lru_cache

from django.conf import settings

from digest.graph import Graph
from digest.redis_store import connect


@lru_cache(maxsize=1)
def graph() -> Graph:
    return Graph(connect(settings.LANYARD), settings.LANYARD.redis_prefix)
