"""Search: the second denormalised copy of the database, after the Redis graph.

``open_search(settings)`` gives the configured engine behind one interface
(:class:`~digest.search.index.SearchIndex`): the embedded tantivy index by default,
Apache Solr when ``LANYARD_SEARCH_URL`` is an http(s) URL. ``sync`` keeps it in step with
the database; ``friends`` answers the digest's friend-events question from it.
"""

from __future__ import annotations

from collections.abc import Callable

from digest.config import Settings
from digest.search.documents import DocKey, SearchDocument
from digest.search.index import (
    MAX_CLAUSES,
    EventHit,
    EventPage,
    Facets,
    Hit,
    SearchError,
    SearchIndex,
    SearchPage,
    TextQuery,
)


def open_search(settings: Settings) -> SearchIndex:
    if settings.search.backend == "tantivy":
        from digest.search.tantivy_index import TantivyIndex  # noqa: PLC0415 -- each engine's library loads when chosen

        return TantivyIndex(settings.search.path)
    from digest.search.solr_index import SolrIndex  # noqa: PLC0415 -- each engine's library loads when chosen

    return SolrIndex(settings.search.url)


def search_probe(open_index: Callable[[], SearchIndex]) -> Callable[[], object]:
    """``open_index`` returns the search index; one tiny query proves it answers."""

    def probe() -> object:
        return open_index().search(TextQuery(limit=1))

    return probe


__all__ = [
    "MAX_CLAUSES", "DocKey", "EventHit", "EventPage", "Facets", "Hit", "SearchDocument", "SearchError",
    "SearchIndex", "SearchPage", "TextQuery", "open_search", "search_probe",
]
