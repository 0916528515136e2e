"""Reads of coverage for the talk, event, person and topic pages (bounded, newest first)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from .models import Coverage, Event, Person, Session, Topic

SHOWN = 50  # coverage items listed on one page


def _base() -> QuerySet[Coverage]:
    return Coverage.objects.select_related("session", "event", "session__event")


def coverage_of(target: Session | Event | Person | Topic) -> list[Coverage]:
    """The coverage a page shows: a talk's own; an event's and its talks'; a speaker's talks';
    a topic's events' and their talks'."""
    if isinstance(target, Session):
        rows = _base().filter(session=target).order_by("kind", "title", "pk")
    elif isinstance(target, Event):
        rows = _base().filter(Q(event=target) | Q(session__event=target)).order_by("kind", "title", "pk")
    elif isinstance(target, Person):
        rows = _base().filter(session__speakers=target).distinct().order_by("-created_at", "-pk")
    elif isinstance(target, Topic):
        # Ids first (as coverage_rows does): no join through event_topic multiplies rows, so
        # no DISTINCT, and the newest-first index (coverage_created) is walked, not sorted.
        on_topic = Event.objects.filter(topics=target).values("pk")
        rows = _base().filter(Q(event__in=on_topic) | Q(session__event__in=on_topic)).order_by("-created_at", "-pk")
    else:
        raise TypeError(f"no coverage for a {type(target).__name__}")
    return list(rows[:SHOWN])
