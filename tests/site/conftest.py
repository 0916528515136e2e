import pytest


@pytest.fixture(autouse=True)
def _fresh_page_cache():
    """The site caches lists per process (locmem) and fragments in Redis, keyed by row id and
    cache_version: each test, on each database, starts without entries a previous one left
    (the same ids recur on SQLite and PostgreSQL)."""
    from django.conf import settings
    from django.core.cache import caches

    for name in settings.CACHES:
        caches[name].clear()
    yield
    for name in settings.CACHES:
        caches[name].clear()
