"""/topics/ and a topic's page."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, Q
from django.db.models.functions import Lower

from ..models import Event, Topic
from . import shared
from .home import HOME_LIST
from .keyed import row_by, rows_by_pk

TOPIC_LIST = 10  # rows per section of a topic page
COUNTED = 500  # upcoming events of a topic counted from their ids rather than by a query


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
    return row_by(Topic, "slug", slug)


@dataclass(frozen=True)
class TopicPage:
    upcoming: list[Event]
    upcoming_count: int
    open_calls: list[Event]
    recent: list[Event]


@dataclass(frozen=True)
class _TopicIds:
    """Which events a topic page lists, in order: what its four queries answered."""

    upcoming: list[int]
    upcoming_count: int
    open_calls: list[int]
    recent: list[int]


def topic_page(topic: Topic) -> TopicPage:
    """The topic's sections. Which events they list is kept per process for ten minutes
    under the topic's cache_version (an event given or losing the topic touches it:
    personal/cascades.py) and the day; the events themselves are read fresh, in one query.
    Its four queries were most of the page's database time and ORM work (profiled)."""
    now = shared.today()
    key = f"topic:page:{topic.pk}:{topic.cache_version}:{now.isoformat()}"
    ids = cache.get(key)
    if ids is None:
        ids = _topic_ids(topic)
        cache.set(key, ids, shared.CACHE_SECONDS)
    events = rows_by_pk(Event, [*ids.upcoming, *ids.open_calls, *ids.recent])

    def listed(pks: list[int]) -> list[Event]:
        return [events[pk] for pk in pks if pk in events]

    return TopicPage(upcoming=listed(ids.upcoming), upcoming_count=ids.upcoming_count,
                     open_calls=listed(ids.open_calls), recent=listed(ids.recent))


def _topic_ids(topic: Topic) -> _TopicIds:
    now = shared.today()
    events = topic.events.all()
    upcoming = events.filter(end_date__gte=now).order_by("start_date", "name", "pk")
    # Up to COUNTED ids at once tell the count too, one query fewer (each of these costs
    # about a millisecond of planning on PostgreSQL); a bigger topic is counted.
    first = list(upcoming.values_list("pk", flat=True)[:COUNTED + 1])
    return _TopicIds(
        upcoming=first[:HOME_LIST],
        upcoming_count=len(first) if len(first) <= COUNTED else upcoming.count(),
        open_calls=list(events.filter(cfp_deadline__gte=now).order_by("cfp_deadline", "name", "pk")
                        .values_list("pk", flat=True)[:TOPIC_LIST]),
        recent=list(events.filter(end_date__lt=now).order_by("-start_date", "name", "pk")
                    .values_list("pk", flat=True)[:TOPIC_LIST]),
    )
