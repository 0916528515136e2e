import pytest


@pytest.fixture(autouse=True)
def _fresh_page_cache():
    """The site caches fragments and lists per process (locmem); each test, on each database,
    starts without entries a previous one left."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
