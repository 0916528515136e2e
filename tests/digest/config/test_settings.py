from pathlib import Path

from digest.config import SearchSettings


def test_the_search_url_names_its_engine_and_index_directory():
    embedded = SearchSettings(url="tantivy:///srv/lanyard/search%20index")
    assert embedded.backend == "tantivy" and embedded.path == Path("/srv/lanyard/search index")
    assert SearchSettings(url="https://solr1:8983/solr/lanyard,https://solr2:8983/solr/lanyard").backend == "solr"
