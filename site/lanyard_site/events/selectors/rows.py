"""Event rows in lists (events/_event_row.html). The part of a row every visitor sees is
kept per process in the "rows" cache under the event's cache_version, so a row's topics
are read only for the rows of a page that cache lacks: on a warm process a page of events
reads no topics at all (the prefetch was a query and ~2 ms of Django's prefetch machinery
per page of 25, measured on /events/ with a topic filter)."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.cache import caches
from django.core.cache.utils import make_template_fragment_key
from django.db.models import prefetch_related_objects

from ..models import Event

ROWS_CACHE = "rows"
ROW_FRAGMENT = "event_row"


def row_key(event: Event, *, show_topics: bool, note: str = "") -> str:
    """The key of ``{% cache 600 event_row event.pk event.cache_version show_topics note
    using="rows" %}`` in events/_event_row.html (a template variable left unset is "")."""
    return make_template_fragment_key(ROW_FRAGMENT, [event.pk, event.cache_version, show_topics, note])


def with_row_topics(events: Iterable[Event], *, note: str = "") -> list[Event]:
    """``events`` as a list, the topics prefetched for those whose row (shown with its
    topics) is not cached. A row that expires in between reads its topics itself: one
    query, the same page."""
    rows = list(events)
    cache = caches[ROWS_CACHE]
    missing = [event for event in rows if not cache.has_key(row_key(event, show_topics=True, note=note))]
    if missing:
        prefetch_related_objects(missing, "topics")
    return rows
