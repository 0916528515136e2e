"""The site's handles on lanyard's stores, made once per process from settings.LANYARD."""

from functools import lru_cache

from django.conf import settings

from digest.graph import Graph
from digest.redis_store import connect


@lru_cache(maxsize=1)
def graph() -> Graph:
    return Graph(connect(settings.LANYARD), settings.LANYARD.redis_prefix)


@lru_cache(maxsize=1)
def engine():
    """A SQLAlchemy engine on the site's database, for the digest core's services."""
    from digest.db import make_engine

    return make_engine(settings.LANYARD.database)


def scheduler_enqueue():
    """Sends the scheduler's tasks (run controls in the admin) through the configured broker."""
    from scheduler.app import Enqueue, app_for

    return Enqueue(app_for(settings.LANYARD))
