"""Fixtures for the search tests: each engine behind the one interface.

``search_index`` runs a test on the embedded tantivy index and on Apache Solr. Solr
is a server these machines do not have; set ``LANYARD_TEST_SOLR_URL`` to a core made
from ``digest/search/solr/conf`` (README: "Search on Solr") and the same tests run
against it. Its data is deleted before each test.
"""

from __future__ import annotations

import os

import pytest

from digest.search.solr_index import SolrIndex
from digest.search.tantivy_index import TantivyIndex

SOLR_URL = os.environ.get("LANYARD_TEST_SOLR_URL", "").strip()
NO_SOLR = (
    "LANYARD_TEST_SOLR_URL is not set, so this Solr run of the search contract suite cannot run here "
    "(no Solr server); the tantivy run and the Solr query-construction tests did run"
)


@pytest.fixture(params=["tantivy", "solr"])
def search_index(request, tmp_path):
    if request.param == "tantivy":
        index = TantivyIndex(tmp_path / "search")
    else:
        if not SOLR_URL:
            pytest.skip(NO_SOLR)
        index = SolrIndex(SOLR_URL)
        index.solr.delete(q="*:*", commit=True)
    yield index
    index.close()


@pytest.fixture
def tantivy_index(tmp_path):
    index = TantivyIndex(tmp_path / "search")
    yield index
    index.close()
