"""Fixtures of the events app's tests."""

from __future__ import annotations

import pytest

from digest.search.documents import stream_documents
from lanyard_site import stores
from tests.site.pages import alias  # noqa: F401  (the fixture: SQLite and PostgreSQL)


@pytest.fixture
def indexed(alias):
    """Rebuild the search index from this test's database (call after writing the data)."""

    def build():
        with stores.engine(alias).connect() as c:
            stores.search().rebuild(stream_documents(c))

    return build
