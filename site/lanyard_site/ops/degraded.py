"""Pages that degrade: a store found away during a request is noted, the page answers from
the database without it, and a banner says what is missing.

Redis (the fragment cache, the ops state, the graph), the graph itself and the search
engine are copies of the database, so none of them may cost a page. Whoever meets one
away calls :func:`store_away`; :class:`DegradedMiddleware` then puts the banner where
``base.html`` leaves its marker. Once Redis failed in a request, the rest of that request
skips it (:func:`is_away`), so a page pays for at most one refused connection per store.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

from digest.errors import GraphMissing
from digest.vocabulary import Store

log = logging.getLogger("lanyard.site")

MARKER = b"<!--lanyard:stores-away-->"
WHAT_IS_MISSING = {
    Store.REDIS: "the shared cache and the people you follow",
    Store.GRAPH: "the people you follow",
    Store.SEARCH: "search",
}
_away: ContextVar[set[Store] | None] = ContextVar("lanyard_stores_away", default=None)


def store_away(store: Store, error: BaseException | str) -> None:
    """Note that ``store`` did not answer in this request (logged once per request and store)."""
    away = _away.get()
    if away is not None and store in away:
        return
    brief = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]  # engines' errors run long
    log.warning("%s is away, the page answers without it: %s", store.value, brief)
    if away is not None:
        away.add(store)


def is_away(store: Store) -> bool:
    away = _away.get()
    return away is not None and store in away


def stores_away() -> list[Store]:
    return sorted(_away.get() or ())


def graph_away(error: BaseException) -> None:
    """The graph did not answer: Redis itself is away, or it is up and the graph not built."""
    store_away(Store.GRAPH if isinstance(error, GraphMissing) else Store.REDIS, error)


SEARCH_UNAVAILABLE = "Search is unavailable right now; please try again in a few minutes."


def search_away(error: BaseException) -> str:
    """The search engine did not answer: noted, and the words a page shows (never the
    engine's own message, which names internal hosts)."""
    store_away(Store.SEARCH, error)
    return SEARCH_UNAVAILABLE


def banner(away: list[Store]) -> bytes:
    missing = ", ".join(dict.fromkeys(WHAT_IS_MISSING[store] for store in away))
    return (
        '<p class="banner degraded" role="status">Part of lanyard is unavailable right now '
        f"({missing}); this page shows what the database has.</p>"
    ).encode()


class DegradedMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _away.set(set())
        try:
            response = self.get_response(request)
            away = stores_away()
        finally:
            _away.reset(token)
        if response.streaming or MARKER not in getattr(response, "content", b""):
            return response
        response.content = response.content.replace(MARKER, banner(away) if away else b"", 1)
        if response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
        return response
