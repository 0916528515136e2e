"""/coverage/ (every link, filtered) and the coverage blocks of the talk, event, person and
topic pages (bounded, newest first).

A ``refused`` link (the guarded client would not fetch it: a private address, a port) is
shown to its author only, with the reason; every public read leaves it out (``public``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db.models import Q, QuerySet

from digest.slugs import is_slug
from digest.vocabulary import CoverageStatus

from ..models import Coverage, Event, Person, Session, Topic
from .shared import CACHE_SECONDS, FilterChoices, clean_text

SHOWN = 50  # coverage items listed on one page
TOPIC_SHOWN = 10  # the newest of a topic's (its page links to all of them on /coverage/)


def public(rows: QuerySet[Coverage], *, author_id: int | None = None) -> QuerySet[Coverage]:
    """``rows`` anyone may see, and the refused ones of ``author_id`` (the person looking)."""
    hidden = Q(status=CoverageStatus.REFUSED)
    if author_id is not None:
        hidden &= ~Q(added_by_id=author_id)
    return rows.exclude(hidden)


def _base(author_id: int | None) -> QuerySet[Coverage]:
    return public(Coverage.objects.select_related("session", "event", "session__event"), author_id=author_id)


def _event_ids(event: Event) -> QuerySet[Coverage, Any]:
    """The ids of the coverage of the event or of one of its talks: the UNION of two index
    lookups (event_id; session_id among its talks' ids). An OR through the talk's join
    scanned every row; an OR of the two in one WHERE made PostgreSQL expect thousands of
    rows and hash-join every talk and event to them (EXPLAIN ANALYZE on the bench data:
    57 ms, now 0.3 ms; SQLite did both lookups either way)."""
    own = Coverage.objects.filter(event=event).values("pk")
    of_talks = Coverage.objects.filter(session__in=Session.objects.filter(event=event).values("pk")).values("pk")
    return own.union(of_talks)


def of_event(event: Event) -> Q:
    """Coverage of the event or of one of its talks (see ``_event_ids``)."""
    return Q(pk__in=_event_ids(event))


def _listed(ids: QuerySet[Coverage, Any], viewer_id: int | None) -> QuerySet[Coverage]:
    """The rows of these ids, read only when there are any. Ids first: most events and
    speakers have no coverage, and the rows' query (three joins, fifty columns) cost more
    to build than to run: an event page's coverage went from 1.65 ms to 0.5 ms (bench data,
    SQLite, none found)."""
    found = list(ids.values_list("pk", flat=True))
    return _base(viewer_id).filter(pk__in=found) if found else Coverage.objects.none()


def coverage_of(target: Session | Event | Person | Topic, *, viewer_id: int | None = None) -> list[Coverage]:
    """The coverage a page shows: a talk's own; an event's and its talks'; a speaker's talks';
    a topic's events' and their talks'. ``viewer_id``, the person looking, also sees the
    links of theirs that were refused."""
    if isinstance(target, Session):
        rows = _base(viewer_id).filter(session=target).order_by("kind", "title", "pk")
    elif isinstance(target, Event):
        rows = _listed(_event_ids(target), viewer_id).order_by("kind", "title", "pk")
    elif isinstance(target, Person):
        talks = Session.speakers.through.objects.filter(person=target).values("session_id")
        rows = _listed(Coverage.objects.filter(session__in=talks), viewer_id).order_by("-created_at", "-pk")
    elif isinstance(target, Topic):
        return _topic_coverage(target, viewer_id)
    else:
        raise TypeError(f"no coverage for a {type(target).__name__}")
    return list(rows[:SHOWN])


def _topic_coverage(topic: Topic, viewer_id: int | None) -> list[Coverage]:
    """A topic's newest coverage. For everyone but the authors of refused links (one index
    lookup tells), which rows to show is kept per process for ten minutes under the topic's
    cache_version, the rows read fresh by id (``public`` again: a link refused since is left
    out): building the query through event_topic was half of a topic page's database work
    (profiled)."""
    author_id = viewer_id if viewer_id is not None and _has_refused(viewer_id) else None
    key = f"topic:coverage:{topic.pk}:{topic.cache_version}"
    ids = cache.get(key) if author_id is None else None
    if ids is not None:
        found = _base(None).in_bulk(ids)
        return [found[pk] for pk in ids if pk in found]
    # Ids first (as coverage_rows does): no join through event_topic multiplies rows, so
    # no DISTINCT, and the newest-first index (coverage_created) is walked, not sorted.
    on_topic = Event.topics.through.objects.filter(topic=topic).values("event_id")  # no join to event
    rows = list(_base(author_id).filter(Q(event__in=on_topic) | Q(session__event__in=on_topic))
                .order_by("-created_at", "-pk")[:TOPIC_SHOWN])
    if author_id is None:
        cache.set(key, [row.pk for row in rows], CACHE_SECONDS)
    return rows


def _has_refused(person_id: int) -> bool:
    return Coverage.objects.filter(added_by_id=person_id, status=CoverageStatus.REFUSED).exists()


def coverage_removable(coverage_id: int, *, person_id: int | None, staff: bool) -> Coverage | None:
    """The link ``person_id`` may remove (their own; staff: any), or None."""
    rows = Coverage.objects.select_related("session", "event", "session__event", "added_by")
    if not staff:
        if person_id is None:
            return None
        rows = rows.filter(added_by_id=person_id)
    return rows.filter(pk=coverage_id).first()


@dataclass
class CoverageFilters:
    kind: str = ""
    person: Person | None = None
    topic: Topic | None = None
    event: Event | None = None
    ignored: list[str] = field(default_factory=list)


def coverage_filters(params: Mapping[str, str], choices: FilterChoices) -> CoverageFilters:
    filters = CoverageFilters()
    kind = clean_text(params.get("kind"), 40)
    if kind:
        if kind in Coverage.Kind.values:
            filters.kind = kind
        else:
            filters.ignored.append(f"kind: {kind}")
    topic = clean_text(params.get("topic"), 100)
    if topic:
        filters.topic = next((t for t in choices.topics if t.slug == topic), None)
        if filters.topic is None:
            filters.ignored.append(f"topic: {topic}")
    for name, model, field_name in (("person", Person, "handle"), ("event", Event, "slug")):
        value = clean_text(params.get(name), 200)
        if value:
            found = model.objects.filter(**{field_name: value}).first() if is_slug(value) else None
            setattr(filters, name, found)
            if found is None:
                filters.ignored.append(f"{name}: {value}")
    return filters


def coverage_rows(filters: CoverageFilters) -> QuerySet[Coverage]:
    rows = public(Coverage.objects.select_related("event", "session__event"))
    if filters.kind:
        rows = rows.filter(kind=filters.kind)
    if filters.person is not None:
        rows = rows.filter(session__speakers=filters.person)
    if filters.event is not None:
        rows = rows.filter(of_event(filters.event))
    if filters.topic is not None:
        # Coverage of an event on the topic, or of a talk at one: ids first, so the two
        # joins through event_topic never multiply rows.
        on_topic = Event.objects.filter(topics=filters.topic).values("pk")
        rows = rows.filter(Q(event__in=on_topic) | Q(session__event__in=on_topic))
    return rows.order_by("-created_at", "-pk")
