"""Event rows in lists (the ``{% event_row %}`` tag, events/_event_row.html). The part of a row every visitor sees is
kept per process in the "rows" cache under the event's cache_version, so a row's topics
are read only for the rows of a page that cache lacks: on a warm process a page of events
reads no topics at all (the prefetch was a query and ~2 ms of Django's prefetch machinery
per page of 25, measured on /events/ with a topic filter)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from django.core.cache import caches
from django.core.cache.utils import make_template_fragment_key
from django.db.models import prefetch_related_objects

from ..models import Event, Session

ROWS_CACHE = "rows"
ROW_FRAGMENT = "event_row"
ROW_SECONDS = 600  # how long a process keeps a row it rendered (its cache_version keys it anyway)
M = TypeVar("M", Event, Session)
T = TypeVar("T")


def row_key(event: Event, *, show_topics: bool, note: str = "") -> str:
    """The key under which the ``{% event_row %}`` tag keeps the part of a row every visitor sees."""
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


@dataclass(frozen=True)
class TopicName:
    """What a list shows of an event's topic."""

    slug: str
    name: str


@dataclass(frozen=True)
class SpeakerName:
    """What a list shows of a talk's speaker."""

    handle: str
    name: str


def event_topics(events: Iterable[Event]) -> dict[int, list[TopicName]]:
    """Each event's topics (by name), kept per process under the event's cache_version (a
    topic renamed or added touches its events: personal/cascades.py); one query reads those
    of the events not kept. The API's lists show every event's topics: this spares each
    list that query and Django's prefetch machinery once a process has seen its events."""
    return _kept(events, "event-topics", "topics", lambda e: [TopicName(t.slug, t.name) for t in e.topics.all()])


def talk_speakers(talks: Iterable[Session]) -> dict[int, list[SpeakerName]]:
    """Each talk's speakers, kept as ``event_topics`` keeps topics (a speaker renamed or added
    touches the talk)."""
    return _kept(talks, "talk-speakers", "speakers",
                 lambda t: [SpeakerName(p.handle, p.name) for p in t.speakers.all()])


def _kept(rows: Iterable[M], kind: str, related: str, shown: Callable[[M], list[T]]) -> dict[int, list[T]]:
    by_pk = {row.pk: row for row in rows}
    cache = caches[ROWS_CACHE]
    keys = {pk: f"{kind}:{pk}:{row.cache_version}" for pk, row in by_pk.items()}
    kept = cache.get_many(list(keys.values()))
    found = {pk: kept[key] for pk, key in keys.items() if key in kept}
    missing = [row for pk, row in by_pk.items() if pk not in found]
    if missing:
        prefetch_related_objects(missing, related)
        read = {row.pk: shown(row) for row in missing}
        cache.set_many({keys[pk]: value for pk, value in read.items()})
        found.update(read)
    return found
