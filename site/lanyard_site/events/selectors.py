"""Reads behind the site's pages: each returns what one part of a page shows.

Querysets stay lazy where a page may not need them (a cached fragment), and every
list a page shows is bounded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from digest.slugs import is_slug, slug_words

from .models import Attendance, Event, Person, Session, SlugHistory, SlugKind, Topic

UPCOMING_DAYS = 30  # the home page's horizon
NAMES_SHOWN = 50  # people listed per role on an event page
PAST_SHOWN = 50  # past events listed on a person page

# Roles that put a person on an event in the digest's graph ("tracking" does not).
GOING = (Attendance.Role.ATTENDING, Attendance.Role.SPEAKING)


def today() -> dt.date:
    return timezone.localdate()


_SLUGGED = {SlugKind.EVENT: (Event, "slug"), SlugKind.PERSON: (Person, "handle"), SlugKind.TOPIC: (Topic, "slug")}


def current_slug(kind: SlugKind, slug: str) -> str | None:
    """Where an old or misspelt slug lives now: the current slug of the row it named
    (slug history first, then the same words in slug form), or None when nothing matches."""
    if "\x00" in slug or len(slug) > 200:  # PostgreSQL refuses NUL in text; no slug is longer
        return None
    model, field = _SLUGGED[kind]
    target = SlugHistory.objects.filter(kind=kind, slug=slug).values_list("target_id", flat=True).first()
    if target is not None:
        return model.objects.filter(pk=target).values_list(field, flat=True).first()
    if is_slug(slug):
        return None  # in slug form already: it names nothing
    words = slug_words(slug, max_length=model._meta.get_field(field).max_length)
    return model.objects.filter(**{field: words}).values_list(field, flat=True).first()


def events_upcoming(*, days: int = UPCOMING_DAYS) -> QuerySet[Event]:
    """Events not yet over that start within ``days``, soonest first."""
    now = today()
    return Event.objects.filter(end_date__gte=now, start_date__lte=now + dt.timedelta(days=days))


def event_detail(slug: str) -> Event | None:
    """The event with its topics; None for an unknown slug."""
    return Event.objects.prefetch_related("topics").filter(slug=slug).first()


def event_talks(event: Event) -> QuerySet[Session]:
    return event.sessions.prefetch_related("speakers")


@dataclass(frozen=True)
class RoleList:
    """Who has one role at an event: how many, and the first few by name."""

    count: int
    people: list[Person]


def event_people(event: Event, *, role: str, limit: int = NAMES_SHOWN) -> RoleList:
    people = Person.objects.filter(attendances__event=event, attendances__role=role)
    return RoleList(count=people.count(), people=list(people.order_by("name", "pk")[:limit]))


def talk_detail(talk_id: int) -> Session:
    return get_object_or_404(
        Session.objects.select_related("event").prefetch_related("speakers", "coverage"), pk=talk_id
    )


def person_detail(handle: str) -> Person | None:
    return Person.objects.filter(handle=handle).first()


def person_attendances(person: Person) -> tuple[list[Attendance], list[Attendance]]:
    """The events a person attends or speaks at: (upcoming soonest first, past latest first)."""
    going = person.attendances.filter(role__in=GOING).select_related("event")
    now = today()
    upcoming = list(going.filter(event__end_date__gte=now).order_by("event__start_date", "event__name"))
    past = list(going.filter(event__end_date__lt=now).order_by("-event__start_date", "event__name")[:PAST_SHOWN])
    return upcoming, past


def person_talks(person: Person) -> QuerySet[Session]:
    return person.sessions.select_related("event").order_by("-event__start_date", "title")


def topic_detail(slug: str) -> Topic | None:
    return Topic.objects.filter(slug=slug).first()


def topic_events(topic: Topic) -> QuerySet[Event]:
    return topic.events.filter(end_date__gte=today())


def person_of(user) -> Person | None:
    """The Person of a signed-in user (None for a user without one)."""
    if not user.is_authenticated:
        return None
    return Person.objects.filter(user=user).first()


@dataclass(frozen=True)
class CalendarEntry:
    event: Event
    followed: list[Attendance]  # the followed people going, with their role


def events_for_calendar(person: Person, *, page_events: list[int] | None = None) -> list[CalendarEntry]:
    """Upcoming events that people ``person`` follows attend or speak at, soonest first,
    each with those people (by name). ``page_events``: only these events (a page of
    :func:`calendar_event_ids`)."""
    rows = (
        Attendance.objects.filter(
            person__followers__follower=person, role__in=GOING, event__end_date__gte=today()
        )
        .select_related("event", "person")
        .order_by("event__start_date", "event__name", "event_id", "person__name")
    )
    if page_events is not None:
        rows = rows.filter(event_id__in=page_events)
    entries: dict[int, CalendarEntry] = {}
    for row in rows:
        entries.setdefault(row.event_id, CalendarEntry(event=row.event, followed=[])).followed.append(row)
    return list(entries.values())


def calendar_event_ids(person: Person) -> QuerySet:
    """Ids of the calendar's events, soonest first: what the calendar pages over."""
    return (
        Event.objects.filter(
            attendances__person__followers__follower=person, attendances__role__in=GOING, end_date__gte=today()
        )
        .order_by("start_date", "name", "pk")
        .values_list("pk", flat=True)
        .distinct()
    )
