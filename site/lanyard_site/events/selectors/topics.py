"""/topics/ and a topic's page."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, Q
from django.db.models.functions import Lower

from ..models import Event, Topic
from . import shared
from .home import HOME_LIST

TOPIC_LIST = 10  # rows per section of a topic page


def topics_overview() -> list[Topic]:
    """Every topic with .upcoming, its number of events not yet over. Counting them joins
    every event to its topics, so the list is cached for ten minutes per process."""
    now = shared.today()
    key = f"topics:overview:{now.isoformat()}"
    topics = cache.get(key)
    if topics is None:
        counted = Topic.objects.annotate(upcoming=Count("events", filter=Q(events__end_date__gte=now)))
        topics = list(counted.order_by(Lower("name"), "pk"))
        cache.set(key, topics, shared.CACHE_SECONDS)
    return topics


def topic_detail(slug: str) -> Topic | None:
    return Topic.objects.filter(slug=slug).first()


@dataclass(frozen=True)
class TopicPage:
    upcoming: list[Event]
    upcoming_count: int
    open_calls: list[Event]
    recent: list[Event]


def topic_page(topic: Topic) -> TopicPage:
    now = shared.today()
    events = topic.events.all()
    upcoming = events.filter(end_date__gte=now).order_by("start_date", "name", "pk")
    return TopicPage(
        upcoming=list(upcoming[:HOME_LIST]),
        upcoming_count=upcoming.count(),
        open_calls=list(events.filter(cfp_deadline__gte=now).order_by("cfp_deadline", "name", "pk")[:TOPIC_LIST]),
        recent=list(events.filter(end_date__lt=now).order_by("-start_date", "name", "pk")[:TOPIC_LIST]),
    )
