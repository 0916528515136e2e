"""Reads for the signed-in person.

"People you follow" comes from set intersections on the Redis graph (``SINTER
follows:<me> attendees:<event>``), never an SQL join; the calendar asks the very
friend-events strategy the nightly digest uses (``digest/nightly/friend_events.py``), so the page, the
feed and the email agree.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import redis
from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.db.models.functions import Lower
from django.utils import timezone

from digest.errors import GraphMissing
from digest.nightly.build import upcoming_window
from digest.nightly.friend_events import FriendEventsStrategy, make_friend_strategy, speaking_events
from digest.slugs import is_slug
from digest.values import FriendEvents, Window
from digest.vocabulary import GRAPH_ROLES, Role

from .. import stores
from ..events.models import Attendance, Event, Follow, Person, Session, Topic
from ..events.selectors.many_ids import pk_among
from ..ops.degraded import graph_away

FOLLOWED_SHOWN = 50  # followed people listed first on an event or talk page
# Followed people named on a calendar row: a row naming all 160 people someone following
# 6,000 had at one event was unreadable, and rendering their links was a third of the page.
CALENDAR_NAMES_SHOWN = 10


_strategies = threading.local()


def friend_strategy() -> FriendEventsStrategy:
    """The digest's strategy (LANYARD_FRIENDS_STRATEGY), one per thread: a strategy keeps
    per-batch state, and the site serves requests on several threads at once. Graph sets
    are kept between requests only until the graph's change log says they changed
    (follow_changes), so a click, or a followed person's new attendance, shows at once."""
    strategy = getattr(_strategies, "strategy", None)
    if strategy is None:
        strategy = _strategies.strategy = make_friend_strategy(
            settings.LANYARD, graph=stores.graph(), cache_seconds=0, follow_changes=True
        )
    return strategy


def friend_strategy_forget() -> None:
    """Make this thread's strategy again on next use (tests switch databases and graphs)."""
    _strategies.strategy = None


# -- people you follow first -------------------------------------------------------------


@dataclass(frozen=True)
class FollowedHere:
    """The people the signed-in person follows at an event (or among a talk's speakers),
    by name, and the ids of all of them, to mark them in longer lists."""

    people: list[Person]
    speaking: frozenset[int]
    ids: frozenset[int]

    @property
    def count(self) -> int:
        return len(self.ids)


NOBODY = FollowedHere(people=[], speaking=frozenset(), ids=frozenset())


def followed_at_event(person_id: int | None, event: Event, *, limit: int = FOLLOWED_SHOWN) -> FollowedHere:
    """``SINTER follows:<me> attendees:<event>`` (and ``speakers:``), the first ``limit`` by name."""
    if person_id is None:
        return NOBODY
    found = stores.graph().followed_at(person_id, event.pk)
    return FollowedHere(people=_by_name(found.going, limit), speaking=found.speaking, ids=found.going)


def followed_among(person_id: int | None, people: list[Person]) -> FollowedHere:
    """Which of ``people`` (a talk's speakers, a directory page) the person follows (``SMISMEMBER``)."""
    if person_id is None or not people:
        return NOBODY
    ids = stores.graph().followed_among(person_id, [p.pk for p in people])
    return FollowedHere(people=[p for p in people if p.pk in ids], speaking=frozenset(), ids=ids)


def followed_first(people: list[Person], followed: FollowedHere) -> list[Person]:
    """``people`` with those followed first, each part in its own order."""
    return [p for p in people if p.pk in followed.ids] + [p for p in people if p.pk not in followed.ids]


def followed_going_counts(person_id: int | None, event_ids: list[int]) -> dict[int, int]:
    """Per event of a list, how many people the person follows go: one Redis call per list."""
    if person_id is None or not event_ids:
        return {}
    return stores.graph().followed_going_counts(person_id, event_ids)


def is_following(person_id: int | None, other_id: int) -> bool:
    return person_id is not None and other_id in stores.graph().followed_among(person_id, [other_id])


def _by_name(ids: frozenset[int], limit: int) -> list[Person]:
    if not ids:
        return []
    return list(Person.objects.filter(pk__in=ids).order_by("name", "pk")[:limit])


# -- your part in an event ----------------------------------------------------------------


@dataclass(frozen=True)
class EventPart:
    """The signed-in person's attendance of an event, and whether "I'm speaking" may be said."""

    role: str | None  # attending | speaking | tracking | None
    may_speak: bool
    why_not_speaking: str  # when not may_speak, for the page and the refusal


def event_part(person_id: int | None, event: Event, today: dt.date) -> EventPart:
    """One query: the role, and whether a talk of the event is by the person. Speaking is a
    claim others read in their calendars and digests, so it needs grounds: an event not
    over, and a talk of yours in its schedule or its call for speakers still open (you may
    have submitted one)."""
    if person_id is None:
        return EventPart(role=None, may_speak=False, why_not_speaking="")
    role, has_talk = Event.objects.filter(pk=event.pk).values_list(
        Subquery(Attendance.objects.filter(person_id=person_id, event=OuterRef("pk")).values("role")[:1]),
        Exists(Session.objects.filter(event=OuterRef("pk"), speakers=person_id)),
    ).first() or (None, False)
    if event.end_date < today:
        return EventPart(role, False, "The event is over.")
    if role == "speaking" or has_talk or (event.cfp_deadline is not None and event.cfp_deadline >= today):
        return EventPart(role, True, "")
    return EventPart(role, False, "Speaking needs a talk of yours in its schedule or an open call for speakers.")


# -- the calendar ------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarFilters:
    speaking_only: bool = False
    topic: Topic | None = None
    month: dt.date | None = None  # the first day of a month


@dataclass(frozen=True)
class CalendarEntry:
    event: Event
    followed: list[tuple[Person, str]]  # speakers first, then by name; role "speaking" | "attending"

    @property
    def shown(self) -> list[tuple[Person, str]]:
        """The followed people named on the calendar's row (the event page lists more);
        all of them when one more would be left ("and 1 more" takes a name's room)."""
        if len(self.followed) <= CALENDAR_NAMES_SHOWN + 1:
            return self.followed
        return self.followed[:CALENDAR_NAMES_SHOWN]

    @property
    def more(self) -> int:
        return len(self.followed) - len(self.shown)


@dataclass(frozen=True)
class Calendar:
    event_ids: list[int]  # every event matching, soonest first (what pages and the feed cut)
    found: FriendEvents  # the strategy's answer: event → followed person → role

    def entries(self, event_ids: list[int], *, speaking_only: bool = False) -> list[CalendarEntry]:
        """Hydrated entries for some of the events (a page): two queries, whatever the page holds."""
        events = Event.objects.in_bulk(event_ids)
        roles = {e: self.found[e] for e in event_ids}
        if speaking_only:
            roles = {e: {p: r for p, r in people.items() if r == "speaking"} for e, people in roles.items()}
        people = {p.pk: p for p in pk_among(Person.objects.all(), {p for who in roles.values() for p in who})}
        return [
            CalendarEntry(
                event=events[e],
                followed=sorted(
                    ((people[p], role) for p, role in roles[e].items() if p in people),
                    key=lambda pair: (pair[1] != "speaking", pair[0].name, pair[0].pk),
                ),
            )
            for e in event_ids
            if e in events
        ]


class _WithOwnEvents(Mapping[int, Mapping[int, str]]):
    """The friends' events plus the person's own (going or speaking): a calendar that left out
    where you yourself go would be wrong about your days (the digest is unchanged: it tells
    you about others). Laid over the strategy's answer, not copied from it: the answer works
    out who goes only to the events asked about (a page's 50), and copying it worked that out
    for all of them (~1,500 events of a person following 6,000: most of the page's time,
    profiled)."""

    def __init__(self, found: FriendEvents, person_id: int, own: dict[int, str]):
        self._found, self._person_id, self._own = found, person_id, own
        self._ids = frozenset(found.keys()) | frozenset(own)

    def __getitem__(self, event_id: int) -> Mapping[int, str]:
        role = self._own.get(event_id)
        if role is None:
            return self._found[event_id]
        return {**self._found.get(event_id, {}), self._person_id: role}

    def __iter__(self) -> Iterator[int]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def keys(self) -> frozenset:  # type: ignore[override]  # a set, as the strategy's answer's
        return self._ids


def _own_events(person_id: int, window: Window) -> dict[int, str]:
    """Event → the person's own role, for the events they go to or speak at in the window. One query."""
    return dict(Attendance.objects.filter(
        person_id=person_id, role__in=GRAPH_ROLES, event__end_date__gte=window.start, event__start_date__lte=window.end,
    ).values_list("event_id", "role"))


def calendar_filters(params: Mapping[str, str]) -> tuple[CalendarFilters, list[str]]:
    """The calendar's filters from a query string, and notes on those not applied."""
    notes = []
    topic = None
    if slug := (params.get("topic") or "")[:100]:
        topic = Topic.objects.filter(slug=slug).first() if is_slug(slug) else None
        if topic is None:
            notes.append(f"There is no topic {slug!r}; the topic filter is not applied.")
    month = None
    if value := (params.get("month") or "")[:20]:
        try:
            month = dt.datetime.strptime(value, "%Y-%m").date()
        except ValueError:
            notes.append(f"{value!r} is not a month (YYYY-MM); the month filter is not applied.")
    return CalendarFilters(speaking_only=params.get("speaking") == "1", topic=topic, month=month), notes


def calendar_window() -> Window:
    """The digest's window, from today on the site's clock."""
    return upcoming_window(timezone.localdate())


def calendar(person_id: int, filters: CalendarFilters = CalendarFilters(), *, window: Window | None = None) -> Calendar:
    """The events people ``person_id`` follows attend or speak at, as the digest finds them."""
    window = window or calendar_window()
    try:
        found = friend_strategy().friend_events([person_id], window)[person_id]
    except (redis.RedisError, GraphMissing) as error:
        graph_away(error)
        found = friend_events_from_database(person_id, window)
    own = _own_events(person_id, window)
    if filters.speaking_only:
        ids = speaking_events(found) | {event_id for event_id, role in own.items() if role == Role.SPEAKING}
    else:
        ids = frozenset(found.keys()) | frozenset(own)
    found = _WithOwnEvents(found, person_id, own) if own else found
    if not ids:
        return Calendar(event_ids=[], found=found)
    events = pk_among(Event.objects.all(), ids)
    if filters.topic is not None:
        events = events.filter(topics=filters.topic)
    if filters.month is not None:
        next_month = (filters.month + dt.timedelta(days=32)).replace(day=1)
        events = events.filter(start_date__gte=filters.month, start_date__lt=next_month)
    return Calendar(
        event_ids=list(events.order_by("start_date", "name", "pk").values_list("pk", flat=True)), found=found
    )


def friend_events_from_database(person_id: int, window: Window) -> FriendEvents:
    """What the graph would answer, read from the database (its owner) while the graph is
    away: event → followed person → role, for events starting in the window. One query."""
    rows = Attendance.objects.filter(
        person__followers__follower_id=person_id,
        role__in=GRAPH_ROLES,
        event__start_date__gte=window.start,
        event__start_date__lte=window.end,
    ).values_list("event_id", "person_id", "role")
    found: dict[int, dict[int, str]] = {}
    for event_id, followed_id, role in rows:
        people = found.setdefault(event_id, {})
        if people.get(followed_id) != "speaking":
            people[followed_id] = role
    return found


def calendar_topics() -> list[Topic]:
    """Topics to filter the calendar by: every topic (bounded: topics are a curated list)."""
    return list(Topic.objects.order_by(Lower("name"), "pk")[:200])


def person_feed(person_id: int) -> Person | None:
    return Person.objects.filter(pk=person_id).only("pk", "name", "handle", "feed_version").first()


def follows_of(person_id: int) -> QuerySet[Person]:
    """The people ``person_id`` follows, by name, each once whatever its sources (the
    database, the graph's source)."""
    followed = Follow.objects.filter(follower_id=person_id).values("followee_id")
    return Person.objects.filter(pk__in=followed).order_by("name", "pk")


def follow_sources(person_id: int, people: list[Person]) -> dict[int, list[str]]:
    """Why ``person_id`` follows each of ``people``: followee id → sources (manual, github, …). One query."""
    sources: dict[int, list[str]] = {}
    rows = Follow.objects.filter(follower_id=person_id, followee__in=[p.pk for p in people]).order_by("source")
    for followee_id, source in rows.values_list("followee_id", "source"):
        sources.setdefault(followee_id, []).append(source)
    return sources
