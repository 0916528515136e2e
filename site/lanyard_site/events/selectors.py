"""Reads behind the site's pages: each returns what one part of a page shows.

Every list a page shows is bounded, and each is read with a fixed number of queries
(select_related / prefetch / one aggregate), so a page's query count does not grow with
the rows it shows. Filters from a URL are checked against what exists; an unknown value
is dropped and reported, never passed on.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import groupby

from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, prefetch_related_objects
from django.db.models.functions import Lower
from django.utils import timezone

from digest.search import SearchError, SearchIndex, TextQuery
from digest.search.documents import KINDS
from digest.search.index import WHEN
from digest.search.snippets import snippet
from digest.slugs import is_slug, slug_words

from ..ops.degraded import search_away
from .coverage_selectors import of_event, public
from .models import Attendance, Coverage, Event, Person, Session, SlugHistory, SlugKind, Topic

UPCOMING_DAYS = 30  # the home page's horizon
PAGE_SIZE = 25  # rows per page of a list
DIRECTORY_PAGE = 50  # people per page of a directory
NAMES_SHOWN = 12  # people shown per role on an event page (the directories list all)
PAST_SHOWN = 50  # past events listed on a person page
TOPIC_LIST = 10  # rows per section of a topic page
HOME_LIST = 20
ON_TODAY_DAYS = 31  # "on today" means a conference running now: one that began within the month
BIGGEST = 8
CACHE_SECONDS = 600
MAX_QUERY = 200  # characters of a search query that are used
# The search engine pages by offset: deep pages are refused by the engine, so they are
# clamped here (nobody reads page 400 of a search; the filters narrow it).
SEARCH_PAGE = 20
SEARCH_MAX_PAGES = 50

# Roles that put a person on an event in the digest's graph ("tracking" does not).
GOING = (Attendance.Role.ATTENDING, Attendance.Role.SPEAKING)


class When(StrEnum):
    UPCOMING = "upcoming"
    PAST = "past"


class Directory(StrEnum):
    """The two people lists of an event, by the attendance role they show."""

    ATTENDEES = "attendees"
    SPEAKERS = "speakers"

    @property
    def role(self) -> str:
        return Attendance.Role.ATTENDING if self is Directory.ATTENDEES else Attendance.Role.SPEAKING


def today() -> dt.date:
    return timezone.localdate()


# -- paging ----------------------------------------------------------------------------

_DIGITS = re.compile(r"\s*\+?(\d{1,9})\s*")


def page_number(raw: str | None) -> int:
    """A page number from a URL, whatever its spelling: digits (any script's) give that
    number, anything else (empty, "abc", "-3", "1e9", "2.5", NUL) gives 1. Pages past the
    end are clamped by :func:`paginate`."""
    match = _DIGITS.fullmatch(raw or "")
    return max(1, int(match.group(1))) if match else 1


class _IdsFirst(Paginator):
    """Pages of a QuerySet read ids first, in the same query ("deferred join"): the page's
    ids come from index entries alone however deep the page, and only its rows are read
    whole. A deep page of /events/ read every skipped row before (measured: 6 ms → 0.3 ms
    on SQLite at page 19 of 10,000 events)."""

    def page(self, number) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        ids = self.object_list.values("pk")[bottom:top]
        return self._get_page(self.object_list.filter(pk__in=ids), number, self)


def paginate(rows, raw_page: str | None, per_page: int = PAGE_SIZE, *, count: int | None = None) -> Page:
    """The page of ``rows`` a URL asks for, clamped to the first and the last page.
    ``count``: the number of rows when already known (a cached count), saving the COUNT."""
    pages = _IdsFirst if isinstance(rows, QuerySet) else Paginator
    paginator = pages(rows, per_page, allow_empty_first_page=True)
    if count is not None:
        paginator.__dict__["count"] = count  # Paginator.count is a cached_property
    return paginator.page(min(page_number(raw_page), paginator.num_pages))


# -- slugs ------------------------------------------------------------------------------

_SLUGGED = {SlugKind.EVENT: (Event, "slug"), SlugKind.PERSON: (Person, "handle"), SlugKind.TOPIC: (Topic, "slug")}


def current_slug(kind: SlugKind, slug: str) -> str | None:
    """Where an old or misspelt slug lives now: the current slug of the row it named
    (slug history first, then the same words in slug form), or None when nothing matches."""
    if "\x00" in slug or len(slug) > 200:  # PostgreSQL refuses NUL in text; no slug is longer
        return None
    model, field_name = _SLUGGED[kind]
    target = SlugHistory.objects.filter(kind=kind, slug=slug).values_list("target_id", flat=True).first()
    if target is not None:
        return model.objects.filter(pk=target).values_list(field_name, flat=True).first()
    if is_slug(slug):
        return None  # in slug form already: it names nothing
    words = slug_words(slug, max_length=model._meta.get_field(field_name).max_length)
    return model.objects.filter(**{field_name: words}).values_list(field_name, flat=True).first()


# -- home -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Home:
    today: list[Event]
    soon: list[Event]
    biggest: list[Event]  # each with .going (attendees and speakers)


def home() -> Home:
    now = today()
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
    biggest = _biggest_upcoming(now)
    prefetch_related_objects([*on_today, *soon, *biggest], "topics")
    return Home(today=on_today, soon=soon, biggest=biggest)


def _biggest_upcoming(now: dt.date) -> list[Event]:
    """The upcoming events with most people going. Counting every upcoming event's
    attendance is the one heavy read of the site, so its answer (ids and counts) is cached
    for ten minutes; the events themselves are read fresh."""
    key = f"home:biggest:{now.isoformat()}"
    ranked = cache.get(key)
    if ranked is None:
        ranked = list(
            Event.objects.filter(end_date__gte=now)
            .annotate(going=Count("attendances", filter=Q(attendances__role__in=GOING)))
            .order_by("-going", "start_date", "pk")
            .values_list("pk", "going")[:BIGGEST]
        )
        cache.set(key, ranked, CACHE_SECONDS)
    going = dict(ranked)
    events = Event.objects.in_bulk(list(going))
    found = []
    for pk, count in ranked:
        if pk in events:
            events[pk].going = count
            found.append(events[pk])
    return found


# -- browsing events --------------------------------------------------------------------

_MONTH = re.compile(r"(\d{4})-(\d{2})")


@dataclass
class EventFilters:
    """The filters of /events/ that name something that exists; ``ignored`` lists the
    URL's other values (shown as "not applied")."""

    when: When = When.UPCOMING
    topic: Topic | None = None
    city: str = ""
    country: str = ""
    month: dt.date | None = None  # the first day of the month
    ignored: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FilterChoices:
    topics: list[Topic]
    cities: list[str]
    countries: list[str]


def filter_choices() -> FilterChoices:
    """What /events/ and /coverage/ can be filtered by. Cached for ten minutes: the lists
    change when events are added, and a new city showing up minutes late is harmless."""
    choices = cache.get("events:filter-choices")
    if choices is None:
        choices = FilterChoices(
            topics=list(Topic.objects.order_by(Lower("name"), "pk")),
            cities=list(Event.objects.exclude(city="").order_by("city").values_list("city", flat=True).distinct()),
            countries=list(
                Event.objects.exclude(country="").order_by("country").values_list("country", flat=True).distinct()
            ),
        )
        cache.set("events:filter-choices", choices, CACHE_SECONDS)
    return choices


def clean_text(value: str | None, limit: int = MAX_QUERY) -> str:
    """A value from a URL as plain text: NUL and other control characters removed,
    whitespace collapsed, at most ``limit`` characters."""
    text = "".join(ch if ch.isprintable() else " " for ch in (value or ""))
    return " ".join(text.split())[:limit]


def event_filters(params: Mapping[str, str], choices: FilterChoices) -> EventFilters:
    filters = EventFilters()
    when = params.get("when")
    if when:
        if when in When.__members__.values():
            filters.when = When(when)
        else:
            filters.ignored.append(f"when: {clean_text(when, 40)}")
    topic = clean_text(params.get("topic"), 100)
    if topic:
        filters.topic = next((t for t in choices.topics if t.slug == topic), None)
        if filters.topic is None:
            filters.ignored.append(f"topic: {topic}")
    for name, known in (("city", choices.cities), ("country", choices.countries)):
        value = clean_text(params.get(name), 100)
        if value:
            if value in known:
                setattr(filters, name, value)
            else:
                filters.ignored.append(f"{name}: {value}")
    month = clean_text(params.get("month"), 20)
    if month:
        match = _MONTH.fullmatch(month)
        try:
            filters.month = dt.date(int(match.group(1)), int(match.group(2)), 1) if match else None
        except ValueError:
            filters.month = None
        if filters.month is None:
            filters.ignored.append(f"month: {month}")
    return filters


def events_browse(filters: EventFilters) -> QuerySet[Event]:
    now = today()
    rows = Event.objects.all()
    if filters.month is not None:
        # A month is a month: upcoming/past does not narrow it further.
        next_month = (filters.month + dt.timedelta(days=32)).replace(day=1)
        rows = rows.filter(start_date__lt=next_month, end_date__gte=filters.month).order_by("start_date", "name", "pk")
    elif filters.when is When.PAST:
        rows = rows.filter(end_date__lt=now).order_by("-start_date", "name", "pk")
    else:
        rows = rows.filter(end_date__gte=now).order_by("start_date", "name", "pk")
    if filters.topic is not None:
        rows = rows.filter(topics=filters.topic)
    if filters.city:
        rows = rows.filter(city=filters.city)
    if filters.country:
        rows = rows.filter(country=filters.country)
    return rows.prefetch_related("topics")


# -- one event --------------------------------------------------------------------------


def event_detail(slug: str) -> Event | None:
    """The event with its topics; None for an unknown slug."""
    return Event.objects.prefetch_related("topics").filter(slug=slug).first()


def event_by_slug(slug: str) -> Event | None:
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


@dataclass(frozen=True)
class PeoplePage:
    """A page of a people list; ``searched`` when a name query ran in the search engine."""

    page: Page
    people: list[Person]
    query: str
    searched: bool
    error: str = ""


def event_directory(
    event: Event, directory: Directory, *, query: str, raw_page: str | None, index: SearchIndex
) -> PeoplePage:
    """Everyone with the directory's role at the event, by name; with a query, those whose
    name matches it, found by the search engine among the event's people."""
    people = Person.objects.filter(attendances__event=event, attendances__role=directory.role)
    if not query:
        page = paginate(people.order_by("name", "pk"), raw_page, DIRECTORY_PAGE)
        return PeoplePage(page=page, people=list(page.object_list), query="", searched=False)
    ids = tuple(people.values_list("pk", flat=True))
    return _people_search(query, raw_page, index, pks=ids)


def _people_search(query: str, raw_page: str | None, index: SearchIndex, *, pks: tuple[int, ...] = ()) -> PeoplePage:
    number = min(page_number(raw_page), SEARCH_MAX_PAGES)
    text = TextQuery(query, types=("person",), pks=pks, today=today(), facets=False)
    try:
        if not text.words:
            found_total, hits = 0, ()
        else:
            result = index.search(_at_page(text, number, DIRECTORY_PAGE))
            found_total, hits = result.total, result.hits
            last = max(1, -(-min(found_total, SEARCH_MAX_PAGES * DIRECTORY_PAGE) // DIRECTORY_PAGE))
            if number > last:  # past the end: the last page instead
                number = last
                result = index.search(_at_page(text, number, DIRECTORY_PAGE))
                found_total, hits = result.total, result.hits
    except SearchError as error:
        return PeoplePage(
            page=paginate([], "1", DIRECTORY_PAGE), people=[], query=query, searched=True, error=search_away(error)
        )
    by_pk = Person.objects.in_bulk([hit.pk for hit in hits])
    people = [by_pk[hit.pk] for hit in hits if hit.pk in by_pk]
    return PeoplePage(
        page=_search_page(found_total, number, DIRECTORY_PAGE),
        people=people,
        query=query,
        searched=True,
    )


def _at_page(text: TextQuery, number: int, per_page: int) -> TextQuery:
    return TextQuery(
        text.text,
        types=text.types,
        topic=text.topic,
        city=text.city,
        when=text.when,
        pks=text.pks,
        today=text.today,
        facets=text.facets,
        offset=(number - 1) * per_page,
        limit=per_page,
    )


def _search_page(total: int, number: int, per_page: int) -> Page:
    """A Django Page standing for one page of search results (for the pager)."""
    shown = min(total, SEARCH_MAX_PAGES * per_page)
    paginator = Paginator(range(shown), per_page, allow_empty_first_page=True)
    return paginator.page(min(number, paginator.num_pages))


# -- talks and people ---------------------------------------------------------------------


def talk_detail(talk_id: int) -> Session | None:
    """The talk with its event and speakers; ``local_start`` is its start in the event's
    timezone. (Its coverage is the {% coverage_for %} block's.)"""
    talk = Session.objects.select_related("event").prefetch_related("speakers").filter(pk=talk_id).first()
    if talk is not None:
        talk.local_start = talk.starts_at.astimezone(event_zone(talk.event)) if talk.starts_at else None
    return talk


def person_detail(handle: str) -> Person | None:
    return Person.objects.filter(handle=handle).first()


@dataclass(frozen=True)
class PersonEvents:
    speaking: list[Attendance]  # upcoming, soonest first
    attending: list[Attendance]
    spoke: list[Attendance]  # past, latest first
    attended: list[Attendance]


def person_events(person: Person) -> PersonEvents:
    """The events a person attends or speaks at, by role, upcoming and past."""
    going = person.attendances.filter(role__in=GOING).select_related("event")
    now = today()
    upcoming = list(going.filter(event__end_date__gte=now).order_by("event__start_date", "event__name", "pk"))
    past = list(going.filter(event__end_date__lt=now).order_by("-event__start_date", "event__name", "pk")[:PAST_SHOWN])
    speaking = Attendance.Role.SPEAKING
    return PersonEvents(
        speaking=[a for a in upcoming if a.role == speaking],
        attending=[a for a in upcoming if a.role != speaking],
        spoke=[a for a in past if a.role == speaking],
        attended=[a for a in past if a.role != speaking],
    )


def person_talks(person: Person) -> list[Session]:
    return list(person.sessions.select_related("event").order_by("-event__start_date", "title", "pk")[:PAST_SHOWN])


@dataclass(frozen=True)
class CoSpeakers:
    people: list[Person]  # each with .shared (events spoken at together)
    error: str = ""


def co_speakers(person: Person, index: SearchIndex) -> CoSpeakers:
    """The 8 people who speak at the most of the same events, from the search facet."""
    try:
        ranked = index.co_speakers(person.pk)
    except SearchError as error:
        return CoSpeakers(people=[], error=search_away(error))
    by_pk = Person.objects.in_bulk([pk for pk, _ in ranked])
    people = []
    for pk, shared in ranked:
        if pk in by_pk:
            by_pk[pk].shared = shared
            people.append(by_pk[pk])
    return CoSpeakers(people=people)


def speakers_by_name() -> QuerySet[Person]:
    """Everyone who has spoken at an event, by name (the /people/ directory and its JSON twin)."""
    # EXISTS, not IN: the database walks the name index (person_name) and asks the
    # attendance index (attendance_role_person) per person, instead of sorting every speaker.
    spoke = Attendance.objects.filter(person=OuterRef("pk"), role=Attendance.Role.SPEAKING)
    return Person.objects.filter(Exists(spoke)).order_by("name", "pk")


def speakers_directory(*, query: str, raw_page: str | None, index: SearchIndex) -> PeoplePage:
    """Everyone who has spoken at an event, by name; a query searches everyone by name.
    The name index is walked, each person checked in the attendance index, and
    their number is cached for ten minutes: counting them reads every speaking row."""
    if query:
        return _people_search(query, raw_page, index)
    speakers = speakers_by_name()
    count = cache.get("people:speakers:count")
    if count is None:
        count = speakers.count()
        cache.set("people:speakers:count", count, CACHE_SECONDS)
    page = paginate(speakers, raw_page, DIRECTORY_PAGE, count=count)
    return PeoplePage(page=page, people=list(page.object_list), query="", searched=False)


# -- topics ------------------------------------------------------------------------------


def topics_overview() -> list[Topic]:
    """Every topic with .upcoming, its number of events not yet over. Counting them joins
    every event to its topics, so the list is cached for ten minutes per process."""
    now = today()
    key = f"topics:overview:{now.isoformat()}"
    topics = cache.get(key)
    if topics is None:
        counted = Topic.objects.annotate(upcoming=Count("events", filter=Q(events__end_date__gte=now)))
        topics = list(counted.order_by(Lower("name"), "pk"))
        cache.set(key, topics, CACHE_SECONDS)
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
    now = today()
    events = topic.events.all()
    upcoming = events.filter(end_date__gte=now).order_by("start_date", "name", "pk")
    return TopicPage(
        upcoming=list(upcoming[:HOME_LIST]),
        upcoming_count=upcoming.count(),
        open_calls=list(events.filter(cfp_deadline__gte=now).order_by("cfp_deadline", "name", "pk")[:TOPIC_LIST]),
        recent=list(events.filter(end_date__lt=now).order_by("-start_date", "name", "pk")[:TOPIC_LIST]),
    )


# -- coverage ----------------------------------------------------------------------------


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


# -- search ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchRequest:
    """A search as the URL asks for it, cleaned: unknown facet values are dropped into
    ``ignored``; the text is plain and at most MAX_QUERY characters (``shortened``)."""

    text: str
    type: str = ""
    topic: str = ""
    city: str = ""
    when: str = ""
    raw_page: str | None = None
    shortened: bool = False
    ignored: tuple[str, ...] = ()


def search_request(params: Mapping[str, str], choices: FilterChoices) -> SearchRequest:
    raw = params.get("q") or ""
    ignored = []
    known = {
        "type": KINDS,
        "when": WHEN,
        "topic": {topic.name for topic in choices.topics},
        "city": set(choices.cities),
    }
    values = {}
    for name, allowed in known.items():
        value = clean_text(params.get(name), 100)
        if value and value not in allowed:
            ignored.append(f"{name}: {value}")
            value = ""
        values[name] = value
    return SearchRequest(
        text=clean_text(raw, MAX_QUERY),
        raw_page=params.get("page"),
        shortened=len(" ".join(raw.split())) > MAX_QUERY,
        ignored=tuple(ignored),
        **values,
    )


@dataclass(frozen=True)
class Result:
    """One hit, with the row it names and a snippet of its text."""

    type: str
    obj: object
    title: list[tuple[str, bool]]
    snippet: list[tuple[str, bool]]


@dataclass(frozen=True)
class SearchResults:
    request: SearchRequest
    page: Page | None
    results: list[Result]
    total: int
    facets: dict[str, list[tuple[str, int]]]
    ignored: tuple[str, ...]
    error: str = ""


def run_search(request: SearchRequest, index: SearchIndex) -> SearchResults:
    """The search page's results, one page of them (clamped to the last), with facets."""
    query = TextQuery(
        request.text,
        types=(request.type,) if request.type else (),
        topic=request.topic or None,
        city=request.city or None,
        when=request.when or None,
        today=today(),
        limit=SEARCH_PAGE,
    )
    if not query.words:
        return SearchResults(request, None, [], 0, {}, request.ignored)
    number = min(page_number(request.raw_page), SEARCH_MAX_PAGES)
    try:
        found = index.search(_at_page(query, number, SEARCH_PAGE))
        last = max(1, -(-min(found.total, SEARCH_MAX_PAGES * SEARCH_PAGE) // SEARCH_PAGE))
        if number > last:
            number = last
            found = index.search(_at_page(query, number, SEARCH_PAGE))
    except SearchError as error:
        return SearchResults(request, None, [], 0, {}, request.ignored, error=search_away(error))
    facets = {
        "type": list(found.facets.type),
        "topic": list(found.facets.topic),
        "city": list(found.facets.city),
        "when": list(found.facets.when),
    }
    return SearchResults(
        request=request,
        page=_search_page(found.total, number, SEARCH_PAGE),
        results=_hydrate(found.hits, query.words),
        total=found.total,
        facets=facets,
        ignored=request.ignored,
    )


def _hydrate(hits, words: list[str]) -> list[Result]:
    """The rows the hits name, in the hits' order, one query per type; a hit whose row is
    gone (the index lags a delete) is left out."""
    by_type: dict[str, list[int]] = {}
    for hit in hits:
        by_type.setdefault(hit.type, []).append(hit.pk)
    loaders = {
        "event": Event.objects.all(),
        "session": Session.objects.select_related("event"),
        "person": Person.objects.all(),
        "coverage": public(Coverage.objects.select_related("event", "session__event")),
    }
    rows = {kind: loaders[kind].in_bulk(pks) for kind, pks in by_type.items() if kind in loaders}
    results = []
    for hit in hits:
        obj = rows.get(hit.type, {}).get(hit.pk)
        if obj is not None:
            results.append(Result(hit.type, obj, snippet(hit.title, words, width=200), snippet(hit.body, words)))
    return results


# -- shared by other apps' pages -------------------------------------------------------


def events_upcoming(*, days: int = UPCOMING_DAYS) -> QuerySet[Event]:
    """Events not yet over that start within ``days``, soonest first."""
    now = today()
    return Event.objects.filter(end_date__gte=now, start_date__lte=now + dt.timedelta(days=days))


def person_of(user) -> Person | None:
    """The Person of a signed-in user (None for a user without one)."""
    if not user.is_authenticated:
        return None
    return Person.objects.filter(user=user).first()
