"""The site's handles on lanyard's stores, made once per process from settings.LANYARD."""

from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from digest.config import DatabaseURL
from digest.graph.store import Graph
from digest.http import HttpClient, http_config
from digest.search import open_search
from digest.stores.db import make_engine
from digest.stores.redis_store import connect


@lru_cache(maxsize=1)
def redis():
    return connect(settings.LANYARD)


@lru_cache(maxsize=1)
def graph() -> Graph:
    return Graph(redis(), settings.LANYARD.redis.prefix)


@lru_cache(maxsize=1)
def search():
    """The configured search engine (tantivy under the data directory, or Solr): one
    handle per process, which reopens the index itself when a rebuild swaps it."""
    return open_search(settings.LANYARD)


def engine(alias: str = DEFAULT_DB_ALIAS):
    """A SQLAlchemy engine for the digest core's services, on the very database that
    Django's connection ``alias`` uses (so a view's ORM reads and the core's writes
    never disagree; in tests that is the test database)."""
    return _engine(database_of(connections[alias].settings_dict))


@lru_cache(maxsize=4)
def _engine(database: DatabaseURL):
    return make_engine(database)


def database_of(settings_dict: dict) -> DatabaseURL:
    """The DatabaseURL of a Django DATABASES entry (the inverse of settings.database_settings)."""
    if settings_dict["ENGINE"] == "django.db.backends.sqlite3":
        path = str(settings_dict["NAME"])
        return DatabaseURL(url=f"sqlite:///{path}", backend="sqlite", path=Path(path))
    port = settings_dict.get("PORT")
    return DatabaseURL(
        url="", backend="postgresql", name=settings_dict["NAME"], user=settings_dict.get("USER") or "",
        password=settings_dict.get("PASSWORD") or "", host=settings_dict.get("HOST") or "",
        port=int(port) if port else None,
        options=tuple(sorted((k, str(v)) for k, v in (settings_dict.get("OPTIONS") or {}).items())),
    )


def scheduler_enqueue():
    """Sends the scheduler's tasks (run controls in the admin) through the configured broker."""
    from scheduler.app import app_for  # noqa: PLC0415 -- Celery loads only where a task is sent
    from scheduler.enqueue import Enqueue  # noqa: PLC0415 -- with the app, above

    return Enqueue(app_for(settings.LANYARD))


def http_client() -> HttpClient:
    """A guarded HTTP client for one flow of a request (a sign-in's few calls); close it after."""
    return HttpClient(http_config(settings.LANYARD))
