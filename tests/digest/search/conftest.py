"""Fixtures for the search tests: each engine behind the one interface.

``search_index`` runs a test on the embedded tantivy index, on a standalone Solr and on a
two-node SolrCloud (lanyard's Solr runner, started once per session: tests/conftest.py).
A Solr index is emptied before each test.
"""

from __future__ import annotations

import pytest

from digest.search.solr_index import SolrIndex
from digest.search.tantivy_index import TantivyIndex

ENGINES = ["tantivy", "solr", "solrcloud"]


def solr_index(runner) -> SolrIndex:
    index = SolrIndex(runner.url)
    index.solr.delete(q="*:*", commit=True)
    return index


def open_engine(request, name: str, tmp_path):
    if name == "tantivy":
        return TantivyIndex(tmp_path / "search")
    return solr_index(request.getfixturevalue("solr_standalone" if name == "solr" else "solr_cloud"))


@pytest.fixture(params=ENGINES)
def search_index(request, tmp_path):
    index = open_engine(request, request.param, tmp_path)
    yield index
    index.close()


@pytest.fixture
def friends_index(request, tmp_path):
    """tantivy, or the engine a test names with ``parametrize("friends_index", ENGINES, indirect=True)``."""
    index = open_engine(request, getattr(request, "param", "tantivy"), tmp_path)
    yield index
    index.close()


@pytest.fixture
def tantivy_index(tmp_path):
    index = TantivyIndex(tmp_path / "search")
    yield index
    index.close()
