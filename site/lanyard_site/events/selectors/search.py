"""/search/: the request as the URL asks for it, cleaned, and a page of its results with facets."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page

from digest.search import SearchError, SearchIndex, TextQuery
from digest.search.documents import KINDS
from digest.search.index import WHEN
from digest.search.snippets import snippet

from ...ops.degraded import search_away
from ..models import Coverage, Event, Person, Session
from . import shared
from .coverage import public
from .keyed import fields_by_pk
from .paging import SEARCH_MAX_PAGES, at_page, page_number, search_page
from .shared import MAX_QUERY, FilterChoices, clean_text

SEARCH_PAGE = 20


@dataclass(frozen=True)
class SearchRequest:
    """A search as the URL asks for it, cleaned: unknown facet values are dropped into
    ``ignored``; the text is plain and at most MAX_QUERY characters (``shortened``)."""

    text: str
    type: str = ""
    topic: str = ""
    city: str = ""
    when: str = ""
    raw_page: str | None = None
    shortened: bool = False
    ignored: tuple[str, ...] = ()


def search_request(params: Mapping[str, str], choices: FilterChoices) -> SearchRequest:
    raw = params.get("q") or ""
    ignored = []
    known = {
        "type": KINDS,
        "when": WHEN,
        "topic": {topic.name for topic in choices.topics},
        "city": set(choices.cities),
    }
    values = {}
    for name, allowed in known.items():
        value = clean_text(params.get(name), 100)
        if value and value not in allowed:
            ignored.append(f"{name}: {value}")
            value = ""
        values[name] = value
    return SearchRequest(
        text=clean_text(raw, MAX_QUERY),
        raw_page=params.get("page"),
        shortened=len(" ".join(raw.split())) > MAX_QUERY,
        ignored=tuple(ignored),
        **values,
    )


@dataclass(frozen=True)
class Result:
    """One hit, with the row it names and a snippet of its text."""

    type: str
    obj: object
    title: list[tuple[str, bool]]
    snippet: list[tuple[str, bool]]


@dataclass(frozen=True)
class SearchResults:
    request: SearchRequest
    page: Page | None
    results: list[Result]
    total: int
    facets: dict[str, list[tuple[str, int]]]
    ignored: tuple[str, ...]
    error: str = ""


def run_search(request: SearchRequest, index: SearchIndex) -> SearchResults:
    """The search page's results, one page of them (clamped to the last), with facets."""
    query = TextQuery(
        request.text,
        types=(request.type,) if request.type else (),
        topic=request.topic or None,
        city=request.city or None,
        when=request.when or None,
        today=shared.today(),
        limit=SEARCH_PAGE,
    )
    if not query.words:
        return SearchResults(request, None, [], 0, {}, request.ignored)
    number = min(page_number(request.raw_page), SEARCH_MAX_PAGES)
    try:
        found = index.search(at_page(query, number, SEARCH_PAGE))
        last = max(1, -(-min(found.total, SEARCH_MAX_PAGES * SEARCH_PAGE) // SEARCH_PAGE))
        if number > last:
            number = last
            found = index.search(at_page(query, number, SEARCH_PAGE))
    except SearchError as error:
        return SearchResults(request, None, [], 0, {}, request.ignored, error=search_away(error))
    facets = {
        "type": list(found.facets.type),
        "topic": list(found.facets.topic),
        "city": list(found.facets.city),
        "when": list(found.facets.when),
    }
    return SearchResults(
        request=request,
        page=search_page(found.total, number, SEARCH_PAGE),
        results=_hydrate(found.hits, query.words),
        total=found.total,
        facets=facets,
        ignored=request.ignored,
    )


# Each type's rows by id, read only for the types a page shows (a queryset with its
# filters costs more to build than a search's whole engine part once the engine answer
# is kept). Events and people: only what a result shows (events/templatetags search_result,
# the API's links), in SQL made once (selectors/keyed.py).
EVENT_SHOWN = ("slug", "name", "start_date", "end_date", "city", "country")
PERSON_SHOWN = ("handle", "name")
_LOADERS: dict[str, Callable[[list[int]], dict[int, Any]]] = {
    "event": lambda pks: fields_by_pk(Event, pks, EVENT_SHOWN),
    "session": lambda pks: Session.objects.select_related("event").in_bulk(pks),
    "person": lambda pks: fields_by_pk(Person, pks, PERSON_SHOWN),
    "coverage": lambda pks: public(Coverage.objects.select_related("event", "session__event")).in_bulk(pks),
}


def _hydrate(hits, words: list[str]) -> list[Result]:
    """The rows the hits name, in the hits' order, one query per type; a hit whose row is
    gone (the index lags a delete) is left out."""
    by_type: dict[str, list[int]] = {}
    for hit in hits:
        by_type.setdefault(hit.type, []).append(hit.pk)
    rows = {kind: _LOADERS[kind](pks) for kind, pks in by_type.items() if kind in _LOADERS}
    results = []
    for hit in hits:
        obj = rows.get(hit.type, {}).get(hit.pk)
        if obj is not None:
            results.append(Result(hit.type, obj, snippet(hit.title, words, width=200), snippet(hit.body, words)))
    return results
