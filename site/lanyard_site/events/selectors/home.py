"""The front page: events on today, starting soon, and the biggest upcoming."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet

from ..models import Event
from . import shared
from .keyed import rows_by_pk
from .rows import with_row_topics

UPCOMING_DAYS = 30  # the home page's horizon
HOME_LIST = 20
ON_TODAY_DAYS = 31  # "on today" means a conference running now: one that began within the month
BIGGEST = 8


@dataclass(frozen=True)
class Home:
    today: list[Event]
    soon: list[Event]
    biggest: list[Event]  # each with .going (attendees and speakers)


def home() -> Home:
    now = shared.today()
    # Bounded below as well, so the start_date index reads one month, not all the past.
    on_today = list(
        Event.objects.filter(
            start_date__lte=now, start_date__gte=now - dt.timedelta(days=ON_TODAY_DAYS), end_date__gte=now
        ).order_by("start_date", "name")[:HOME_LIST]
    )
    soon = list(
        Event.objects.filter(start_date__gt=now, start_date__lte=now + dt.timedelta(days=UPCOMING_DAYS)).order_by(
            "start_date", "name"
        )[:HOME_LIST]
    )
    # Topics only for the rows shown with them that this process has not kept (the
    # biggest are shown without): was a prefetch of every row's topics on every request.
    return Home(today=with_row_topics(on_today), soon=with_row_topics(soon), biggest=_biggest_upcoming(now))


def _biggest_upcoming(now: dt.date) -> list[Event]:
    """The upcoming events with most people going. Counting every upcoming event's
    attendance is the one heavy read of the site, so its answer (ids and counts) is cached
    for ten minutes; the events themselves are read fresh."""
    key = f"home:biggest:{now.isoformat()}"
    ranked = cache.get(key)
    if ranked is None:
        ranked = list(
            Event.objects.filter(end_date__gte=now)
            .annotate(people_going=Count("attendances", filter=Q(attendances__role__in=shared.GOING)))
            .order_by("-people_going", "start_date", "pk")
            .values_list("pk", "people_going")[:BIGGEST]
        )
        cache.set(key, ranked, shared.CACHE_SECONDS)
    going = dict(ranked)
    events = rows_by_pk(Event, going)
    found = []
    for pk, count in ranked:
        if pk in events:
            events[pk].going = count
            found.append(events[pk])
    return found


def events_upcoming(*, days: int = UPCOMING_DAYS) -> QuerySet[Event]:
    """Events not yet over that start within ``days``, soonest first."""
    now = shared.today()
    return Event.objects.filter(end_date__gte=now, start_date__lte=now + dt.timedelta(days=days))
