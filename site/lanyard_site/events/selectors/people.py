"""A person's page (events by role, talks, co-speakers) and the people directories: /people/
and an event's, by name or, with a query, found by name in the search engine."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.core.paginator import Page
from django.db.models import Exists, OuterRef, QuerySet

from digest.search import Hit, SearchError, SearchIndex, TextQuery

from ...ops.degraded import search_away
from ..models import Attendance, Person, Session
from . import shared
from .paging import SEARCH_MAX_PAGES, at_page, page_number, paginate, search_page

DIRECTORY_PAGE = 50  # people per page of a directory
PAST_SHOWN = 50  # past events listed on a person page
SPEAKER_IDS_KEY = "people:speakers:ids"  # the speakers directory's order, per process (the default cache)


@dataclass(frozen=True)
class PeoplePage:
    """A page of a people list; ``searched`` when a name query ran in the search engine."""

    page: Page
    people: list[Person]
    query: str
    searched: bool
    error: str = ""


def people_search(query: str, raw_page: str | None, index: SearchIndex, *, pks: tuple[int, ...] = ()) -> PeoplePage:
    number = min(page_number(raw_page), SEARCH_MAX_PAGES)
    hits: tuple[Hit, ...]
    text = TextQuery(query, types=("person",), pks=pks, today=shared.today(), facets=False)
    try:
        if not text.words:
            found_total, hits = 0, ()
        else:
            result = index.search(at_page(text, number, DIRECTORY_PAGE))
            found_total, hits = result.total, result.hits
            last = max(1, -(-min(found_total, SEARCH_MAX_PAGES * DIRECTORY_PAGE) // DIRECTORY_PAGE))
            if number > last:  # past the end: the last page instead
                number = last
                result = index.search(at_page(text, number, DIRECTORY_PAGE))
                found_total, hits = result.total, result.hits
    except SearchError as error:
        return PeoplePage(
            page=paginate([], "1", DIRECTORY_PAGE), people=[], query=query, searched=True, error=search_away(error)
        )
    by_pk = Person.objects.in_bulk([hit.pk for hit in hits])
    people = [by_pk[hit.pk] for hit in hits if hit.pk in by_pk]
    return PeoplePage(
        page=search_page(found_total, number, DIRECTORY_PAGE),
        people=people,
        query=query,
        searched=True,
    )


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
    going = person.attendances.filter(role__in=shared.GOING).select_related("event")
    now = shared.today()
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
    for pk, shared_events in ranked:
        if pk in by_pk:
            by_pk[pk].shared = shared_events
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

    The directory's order (every speaker's id, by name) is kept per process for ten
    minutes, as its count was: a deep page walked the name index and probed attendance for
    every person before it (measured 22 ms at page 20 on PostgreSQL, 100,000 people). A page
    is then a slice of ids and one read of its rows; a new speaker is listed within ten
    minutes, names and photos shown are always the rows' own."""
    if query:
        return people_search(query, raw_page, index)
    ids = cache.get(SPEAKER_IDS_KEY)
    if ids is None:
        ids = list(speakers_by_name().values_list("pk", flat=True))
        cache.set(SPEAKER_IDS_KEY, ids, shared.CACHE_SECONDS)
    page = paginate(ids, raw_page, DIRECTORY_PAGE)
    by_pk = Person.objects.in_bulk(page.object_list)
    return PeoplePage(page=page, people=[by_pk[pk] for pk in page.object_list if pk in by_pk], query="",
                      searched=False)


def person_of(user) -> Person | None:
    """The Person of a signed-in user (None for a user without one)."""
    if not user.is_authenticated:
        return None
    return Person.objects.filter(user=user).first()
