"""Reads of coverage for the talk, event, person and topic pages (bounded, newest first)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from .models import Coverage, Event, Person, Session, Topic

SHOWN = 50  # coverage items listed on one page
TOPIC_SHOWN = 10  # the newest of a topic's (its page links to all of them on /coverage/)


def _base() -> QuerySet[Coverage]:
    return Coverage.objects.select_related("session", "event", "session__event")


def of_event(event: Event) -> Q:
    """Coverage of the event or of one of its talks, as two index lookups (event_id, and
    session_id among its talks' ids): an OR through the talk's join scanned every row."""
    return Q(event=event) | Q(session__in=Session.objects.filter(event=event).values("pk"))


def coverage_of(target: Session | Event | Person | Topic) -> list[Coverage]:
    """The coverage a page shows: a talk's own; an event's and its talks'; a speaker's talks';
    a topic's events' and their talks'."""
    if isinstance(target, Session):
        rows = _base().filter(session=target).order_by("kind", "title", "pk")
    elif isinstance(target, Event):
        rows = _base().filter(of_event(target)).order_by("kind", "title", "pk")
    elif isinstance(target, Person):
        rows = _base().filter(session__speakers=target).distinct().order_by("-created_at", "-pk")
    elif isinstance(target, Topic):
        # Ids first (as coverage_rows does): no join through event_topic multiplies rows, so
        # no DISTINCT, and the newest-first index (coverage_created) is walked, not sorted.
        on_topic = Event.objects.filter(topics=target).values("pk")
        rows = _base().filter(Q(event__in=on_topic) | Q(session__event__in=on_topic)).order_by("-created_at", "-pk")
    else:
        raise TypeError(f"no coverage for a {type(target).__name__}")
    return list(rows[:TOPIC_SHOWN if isinstance(target, Topic) else SHOWN])
