"""An event's page: the event, its schedule in its own timezone, and its people directories."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from enum import StrEnum
from itertools import groupby

from django.db.models import Count

from digest.search import SearchIndex

from ..models import Attendance, Event, Person, Session
from .paging import paginate
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
    return Event.objects.filter(slug=slug).first()


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


def event_people(event: Event, *, limit: int = NAMES_SHOWN) -> dict[str, RoleList]:
    """Directory name ("attendees", "speakers") → its count and first people by name."""
    counts = dict(event.attendances.values_list("role").annotate(n=Count("pk")).order_by())
    return {
        directory.value: RoleList(
            count=counts.get(directory.role, 0),
            people=list(
                Person.objects.filter(attendances__event=event, attendances__role=directory.role).order_by(
                    "name", "pk"
                )[:limit]
            ),
        )
        for directory in Directory
    }


def event_directory(
    event: Event, directory: Directory, *, query: str, raw_page: str | None, index: SearchIndex
) -> PeoplePage:
    """Everyone with the directory's role at the event, by name; with a query, those whose
    name matches it, found by the search engine among the event's people."""
    people = Person.objects.filter(attendances__event=event, attendances__role=directory.role)
    if not query:
        # Counted from the (event, role) index alone: the count through the join read every
        # one of the event's people by id (PostgreSQL, EXPLAIN ANALYZE on the bench data).
        count = Attendance.objects.filter(event=event, role=directory.role).count()
        page = paginate(people.order_by("name", "pk"), raw_page, DIRECTORY_PAGE, count=count)
        return PeoplePage(page=page, people=list(page.object_list), query="", searched=False)
    ids = tuple(people.values_list("pk", flat=True))
    return people_search(query, raw_page, index, pks=ids)
