"""An event's page: the event, its schedule in its own timezone, and its people directories."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from enum import StrEnum
from itertools import groupby

from django.core.cache import cache
from django.db.models import Count, OuterRef, QuerySet, Subquery

from digest.search import SearchIndex

from ..models import Attendance, Event, Person, Session
from . import shared
from .keyed import row_by, rows_by_pk
from .paging import page_of
from .people import DIRECTORY_PAGE, PeoplePage, people_search

NAMES_SHOWN = 12  # people shown per role on an event page (the directories list all)


class Directory(StrEnum):
    """The two people lists of an event, by the attendance role they show."""

    ATTENDEES = "attendees"
    SPEAKERS = "speakers"

    @property
    def role(self) -> str:
        return Attendance.Role.ATTENDING if self is Directory.ATTENDEES else Attendance.Role.SPEAKING


def event_by_slug(slug: str) -> Event | None:
    """The event; None for an unknown slug. Its topics are not prefetched: the page shows
    them inside its cached body (read there on a miss only), the API from the rows cache."""
    return row_by(Event, "slug", slug)


@dataclass(frozen=True)
class ScheduleDay:
    day: dt.date | None  # None: talks without a time yet
    talks: list[Session]


def event_zone(event: Event) -> dt.tzinfo:
    """The event's timezone (UTC when the stored name is not one)."""
    try:
        return zoneinfo.ZoneInfo(event.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def event_schedule(event: Event) -> list[ScheduleDay]:
    """The talks by day in the event's own timezone, each day by start time; talks with no
    time last. Each talk has ``local_start`` (an aware datetime or None)."""
    zone = event_zone(event)
    talks = list(event.sessions.prefetch_related("speakers").order_by("starts_at", "title", "pk"))
    for talk in talks:
        talk.local_start = talk.starts_at.astimezone(zone) if talk.starts_at else None
    talks.sort(key=lambda t: (t.local_start is None, t.local_start or dt.datetime.min.replace(tzinfo=dt.UTC), t.title))
    return [
        ScheduleDay(day=day, talks=list(group))
        for day, group in groupby(talks, key=lambda t: t.local_start.date() if t.local_start else None)
    ]


@dataclass(frozen=True)
class RoleList:
    """Who has one role at an event: how many, and the first few by name."""

    count: int
    people: list[Person]


def event_people(event: Event) -> dict[str, RoleList]:
    """Directory name ("attendees", "speakers") → its count and first people by name, kept
    per process under the event's cache_version (its attendances and its speakers' names
    bump it, as for the cached people lists): a signed-in visitor who follows someone there
    sees the lists rendered for them, and read them on every request (3 queries)."""
    key = f"event:people:{event.pk}:{event.cache_version}"
    people = cache.get(key)
    if people is None:
        people = _event_people(event)
        cache.set(key, people, shared.CACHE_SECONDS)
    return people


def _event_people(event: Event, *, limit: int = NAMES_SHOWN) -> dict[str, RoleList]:
    """Joined: for the first few, PostgreSQL's plans beat ``_ids_by_name``'s (measured)."""
    counts = dict(event.attendances.values_list("role").annotate(n=Count("pk")).order_by())
    return {
        directory.value: RoleList(
            count=counts.get(directory.role, 0),
            people=list(
                Person.objects.filter(attendances__event=event, attendances__role=directory.role).order_by(
                    "name", "pk"
                )[:limit]
            ) if counts.get(directory.role) else [],
        )
        for directory in Directory
    }


def _ids_by_name(event: Event, directory: Directory) -> QuerySet[Attendance, int]:
    """The ids of the event's people with the directory's role, by name: from the
    (event, role, person) index, each name read by primary key. Joined to person instead,
    PostgreSQL walked the name index probing attendance per person, or hashed all of them:
    a page of an event of 250 people took 25 ms, of 2,219 people 16-45 ms; now 1-9 ms
    whatever the page (EXPLAIN ANALYZE on the bench data, 100,000 people)."""
    name = Subquery(Person.objects.filter(pk=OuterRef("person_id")).values("name")[:1])
    return (
        Attendance.objects.filter(event=event, role=directory.role).annotate(person_name=name)
        .order_by("person_name", "person_id").values_list("person_id", flat=True)
    )


def event_directory(
    event: Event, directory: Directory, *, query: str, raw_page: str | None, index: SearchIndex
) -> PeoplePage:
    """Everyone with the directory's role at the event, by name (``_ids_by_name``, then the
    page's rows); with a query, those whose name matches it, found by the search engine
    among the event's people (their ids from the index alone)."""
    attendances = Attendance.objects.filter(event=event, role=directory.role)
    if query:
        return people_search(query, raw_page, index, pks=tuple(attendances.values_list("person_id", flat=True)))
    page = page_of(_ids_by_name(event, directory), raw_page, DIRECTORY_PAGE, count=attendances.count())
    found = rows_by_pk(Person, page.object_list)
    return PeoplePage(page=page, people=[found[pk] for pk in page.object_list if pk in found], query="",
                      searched=False)
