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
from .keyed import row_by, rows_by_pk
from .paging import SEARCH_MAX_PAGES, at_page, page_number, paginate, search_page

DIRECTORY_PAGE = 50  # people per page of a directory
PAST_SHOWN = 50  # past events listed on a person page
CO_SPEAKERS_SECONDS = 600  # a person's co-speaker ranking, per process
ACCOUNTS_SECONDS = 600  # a person's linked accounts, per process (their cache_version keys them anyway)
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
    by_pk = rows_by_pk(Person, [hit.pk for hit in hits])
    people = [by_pk[hit.pk] for hit in hits if hit.pk in by_pk]
    return PeoplePage(
        page=search_page(found_total, number, DIRECTORY_PAGE),
        people=people,
        query=query,
        searched=True,
    )


def person_detail(handle: str) -> Person | None:
    return row_by(Person, "handle", handle)


def person_accounts(person: Person) -> list:
    """The person's linked accounts (GitHub, Mastodon, Bluesky), kept per process under
    their cache_version: linking, refreshing and unlinking an account touch the person
    (personal/cascades.py, and digest/accounts for the workers' writes). Read on every
    request, they were one of the person page's three queries, the slowest page under
    load (bench/load.py)."""
    key = f"people:accounts:{person.pk}:{person.cache_version}"
    accounts = cache.get(key)
    if accounts is None:
        accounts = list(person.accounts.order_by("pk"))
        cache.set(key, accounts, ACCOUNTS_SECONDS)
    return accounts


@dataclass(frozen=True)
class ByRole:
    """A person's attendances split by role: ``speaking`` and ``other`` (attending)."""

    speaking: list[Attendance]
    other: list[Attendance]

    def __bool__(self) -> bool:
        return bool(self.speaking or self.other)


def _by_role(attendances: list[Attendance]) -> ByRole:
    speaking = Attendance.Role.SPEAKING
    return ByRole(speaking=[a for a in attendances if a.role == speaking],
                  other=[a for a in attendances if a.role != speaking])


def _going(person: Person) -> QuerySet[Attendance]:
    return person.attendances.filter(role__in=shared.GOING).select_related("event")


def person_upcoming(person: Person) -> ByRole:
    """The events a person speaks at or attends from today on, soonest first."""
    rows = _going(person).filter(event__end_date__gte=shared.today())
    return _by_role(list(rows.order_by("event__start_date", "event__name", "pk")))


def person_past(person: Person) -> ByRole:
    """The PAST_SHOWN latest events a person spoke at or attended, latest first."""
    rows = _going(person).filter(event__end_date__lt=shared.today())
    return _by_role(list(rows.order_by("-event__start_date", "event__name", "pk")[:PAST_SHOWN]))


def person_talks(person: Person) -> list[Session]:
    return list(person.sessions.select_related("event").order_by("-event__start_date", "title", "pk")[:PAST_SHOWN])


@dataclass(frozen=True)
class CoSpeakers:
    people: list[Person]  # each with .shared (events spoken at together)
    error: str = ""


def co_speakers(person: Person, index: SearchIndex) -> CoSpeakers:
    """The 8 people who speak at the most of the same events, from the search facet.

    The ranking is kept per process for CO_SPEAKERS_SECONDS under the person's
    cache_version (a talk they give, or their attendance, touches them): the index
    follows the database within minutes anyway. An error is never kept."""
    key = f"people:co-speakers:{person.pk}:{person.cache_version}"
    ranked = cache.get(key)
    if ranked is None:
        try:
            ranked = index.co_speakers(person.pk)
        except SearchError as error:
            return CoSpeakers(people=[], error=search_away(error))
        cache.set(key, ranked, CO_SPEAKERS_SECONDS)
    by_pk = rows_by_pk(Person, [pk for pk, _ in ranked])
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
    by_pk = rows_by_pk(Person, page.object_list)
    return PeoplePage(page=page, people=[by_pk[pk] for pk in page.object_list if pk in by_pk], query="",
                      searched=False)


def person_of(user) -> Person | None:
    """The Person of a signed-in user (None for a user without one)."""
    if not user.is_authenticated:
        return None
    return Person.objects.filter(user=user).first()
