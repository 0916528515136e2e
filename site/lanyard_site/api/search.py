"""Search, with facets: the /search/ page's selector, as JSON."""

from __future__ import annotations

from typing import cast

from django.http import HttpRequest
from django.urls import reverse
from ninja import Query, Router

from .. import stores
from ..events.models import Coverage
from ..events.selectors.search import Result, run_search, search_request
from ..events.selectors.shared import filter_choices
from ..ops.services import flag_active
from . import cursors, schemas
from .params import SearchQuery, cleaned
from .problems import ApiProblem
from .represent import API

router = Router()
# A hit's page and JSON twin, by type (coverage has no page of its own: it links out).
_LINKS = {
    "event": (lambda o: ("event", o.slug, f"{API}:event", o.slug)),
    "session": (lambda o: ("talk", o.pk, f"{API}:talk", o.pk)),
    "person": (lambda o: ("person", o.handle, f"{API}:person", o.handle)),
}


@router.get("/search", response=schemas.SearchAnswer, url_name="search", summary="Search, with facets")
def search(request: HttpRequest, query: Query[SearchQuery]):
    """Events, talks, people and coverage matching ``q``, 20 a page, with counts per type,
    topic, city and when. 503 while search is switched off or its engine is away."""
    if not flag_active(request, "search"):
        raise ApiProblem(503, "Search is switched off for a while.", headers={"Retry-After": "300"})
    number = cursors.page_number(query.cursor, "search")
    params = {**cleaned(query), "page": str(number)}
    found = run_search(search_request(params, filter_choices()), stores.search())
    if found.error:
        raise ApiProblem(503, f"Search is unavailable: {found.error}", headers={"Retry-After": "60"})
    more = found.page is not None and found.page.has_next() and found.page.number == number
    return {
        "query": found.request.text, "total": found.total,
        "results": [_hit(request, r) for r in found.results],
        "facets": {name: [{"value": v, "count": n} for v, n in found.facets.get(name, [])]
                   for name in ("type", "topic", "city", "when")},
        "ignored": list(found.ignored),
        "next": cursors.number_cursor(number + 1, "search") if more else None,
    }


def _hit(request: HttpRequest, result: Result) -> dict:
    if result.type in _LINKS:
        page, arg, twin, twin_arg = _LINKS[result.type](result.obj)
        url = request.build_absolute_uri(reverse(page, args=[arg]))
        api_url = request.build_absolute_uri(reverse(twin, args=[twin_arg]))
    else:
        url, api_url = cast(Coverage, result.obj).url, None  # the one type without a page: it links out
    return {"type": result.type, "title": "".join(part for part, _ in result.title),
            "snippet": "".join(part for part, _ in result.snippet), "url": url, "api_url": api_url}
