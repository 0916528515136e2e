"""The catalogue's endpoints: events, talks, people, topics, coverage. Each reads through the
selectors of the page it is the twin of (``events/selectors/``), so the two never disagree."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.urls import reverse
from ninja import Path, Query, Router

from digest.slugs import SLUG_PATTERN, is_slug

from .. import stores
from ..accounts.selectors import verified_accounts
from ..events.models import Session, SlugKind
from ..events.selectors.coverage import coverage_filters, coverage_of, coverage_rows
from ..events.selectors.event import event_by_slug, event_people, event_schedule
from ..events.selectors.listing import event_filters, events_browse
from ..events.selectors.old_slugs import current_slug
from ..events.selectors.people import (
    CoSpeakers,
    co_speakers,
    person_detail,
    person_past,
    person_talks,
    person_upcoming,
    speakers_by_name,
    speakers_directory,
)
from ..events.selectors.shared import clean_text, filter_choices
from ..events.selectors.talk import talk_detail
from ..events.selectors.topics import topic_detail, topic_page, topics_overview
from ..ops.services import flag_active
from . import cursors, schemas
from .answer import json_answer
from .params import CoverageQuery, EventQuery, PageQuery, PeopleQuery, TalkQuery, cleaned
from .problems import ApiProblem
from .represent import API, Represent

router = Router()
SLUG = Path(..., pattern=f"^{SLUG_PATTERN}$", max_length=200)
TALK_ID = Path(..., ge=1, le=2**63 - 1)


def _moved(kind: SlugKind, slug: str, name: str) -> HttpResponsePermanentRedirect:
    """An old slug: 301 to the row's current address; else 404."""
    current = current_slug(kind, slug)
    if current is None or current == slug:
        raise ApiProblem(404, f"There is no {kind.value} {slug!r}.")
    return HttpResponsePermanentRedirect(reverse(f"{API}:{name}", args=[current]))


@router.get("/events", response=schemas.EventPage, url_name="events", summary="Events, with the site's filters")
def events(request: HttpRequest, query: Query[EventQuery]):
    """The events of /events/: upcoming (or past, or in a month), by topic, city or country.
    Filter values that name nothing are not applied, and listed in ``ignored``."""
    filters = event_filters(cleaned(query), filter_choices())
    page = cursors.keyset_page(events_browse(filters), cursor=query.cursor, limit=query.limit,
                               scope="events")
    show = Represent(request)
    show.load_topics(page.items)
    return json_answer({"items": [show.event(e) for e in page.items], "next": page.next, "ignored": filters.ignored})


@router.get("/events/{slug}", response=schemas.EventDetail, url_name="event", summary="One event")
def event(request: HttpRequest, slug: str = SLUG):
    """An event with its talks, the first attendees and speakers, its coverage and counts."""
    found = event_by_slug(slug)
    if found is None:
        return _moved(SlugKind.EVENT, slug, "event")
    show = Represent(request)
    show.load_topics([found])
    talks = [talk for day in event_schedule(found) for talk in day.talks]
    people = event_people(found)
    coverage = coverage_of(found)
    role = {name: {"count": found_role.count, "first": [show.person_ref(p) for p in found_role.people]}
            for name, found_role in people.items()}
    return json_answer({
        **show.event(found), "description": found.description, "event_url": found.url,
        "cfp_deadline": found.cfp_deadline,
        "counts": {"talks": len(talks), "attendees": role["attendees"]["count"],
                   "speakers": role["speakers"]["count"], "coverage": len(coverage)},
        "attendees": role["attendees"], "speakers": role["speakers"],
        "talks": [show.talk(t) for t in talks], "coverage": [show.coverage(c) for c in coverage],
    })


@router.get("/talks", response=schemas.TalkPage, url_name="talks", summary="Talks")
def talks(request: HttpRequest, query: Query[TalkQuery]):
    """Every talk, or an event's (``event``: its slug), oldest added first."""
    rows = Session.objects.order_by("pk")
    ignored = []
    if query.event:
        event = event_by_slug(query.event) if is_slug(query.event) else None
        if event is None:
            ignored.append(f"event: {clean_text(query.event, 200)}")
        else:
            rows = rows.filter(event=event)
    page = cursors.keyset_page(rows, cursor=query.cursor, limit=query.limit, scope="talks")
    show = Represent(request)
    show.load_speakers(page.items)
    return json_answer({"items": [show.talk(t) for t in page.items], "next": page.next, "ignored": ignored})


@router.get("/talks/{talk_id}", response=schemas.TalkDetail, url_name="talk", summary="One talk")
def talk(request: HttpRequest, talk_id: int = TALK_ID):
    found = talk_detail(talk_id, speakers=False)  # kept per process, as a list of talks keeps them
    if found is None:
        raise ApiProblem(404, f"There is no talk {talk_id}.")
    show = Represent(request)
    show.load_speakers([found])
    show.load_topics([found.event])
    return json_answer({**show.talk(found), "abstract": found.abstract, "event": show.event(found.event),
                        "coverage": [show.coverage(c) for c in coverage_of(found)]})


@router.get("/people", response=schemas.PersonPage, url_name="people", summary="Speakers, or anyone by name")
def people(request: HttpRequest, query: Query[PeopleQuery]):
    """The /people/ directory: everyone who has spoken, by name; with ``q``, anyone whose name
    matches (from the search engine, 50 a page; ignored while search is switched off)."""
    text = clean_text(query.q) if flag_active(request, "search") else ""
    show = Represent(request)
    if not text:
        page = cursors.keyset_page(speakers_by_name(), cursor=query.cursor, limit=query.limit,
                                   scope="people")
        return json_answer({"items": [show.person(p) for p in page.items], "next": page.next, "ignored": []})
    number = cursors.page_number(query.cursor, "people-search")
    listing = speakers_directory(query=text, raw_page=str(number), index=stores.search())
    if listing.error:
        raise ApiProblem(503, f"Search is unavailable: {listing.error}", headers={"Retry-After": "60"})
    more = listing.page.has_next() and listing.page.number == number
    return json_answer({"items": [show.person(p) for p in listing.people],
                        "next": cursors.number_cursor(number + 1, "people-search") if more else None,
                        "ignored": []})


@router.get("/people/{handle}", response=schemas.PersonDetail, url_name="person", summary="One person")
def person(request: HttpRequest, handle: str = SLUG):
    """A person with their events (upcoming and past, by role), talks and co-speakers."""
    found = person_detail(handle)
    if found is None:
        return _moved(SlugKind.PERSON, handle, "person")
    show = Represent(request)
    upcoming, past = person_upcoming(found), person_past(found)
    talks = person_talks(found)
    co = (co_speakers(found, stores.search()) if flag_active(request, "search")
          else CoSpeakers(people=[], error="search is switched off"))
    show.load_topics([a.event for a in (*upcoming.speaking, *upcoming.other, *past.speaking, *past.other)]
                     + [t.event for t in talks])
    show.load_speakers(talks)

    def part(attendances):
        return [{"role": a.role, "event": show.event(a.event)} for a in attendances]

    return json_answer({
        **show.person(found),
        "accounts": [{"provider": a.provider, "handle": a.handle, "profile_url": a.profile_url}
                     for a in verified_accounts(found)],
        "upcoming": part([*upcoming.speaking, *upcoming.other]), "past": part([*past.speaking, *past.other]),
        "talks": [show.talk(t) for t in talks],
        "co_speakers": [{"person": show.person_ref(p), "shared_events": p.shared} for p in co.people],
        "co_speakers_error": co.error,
    })


@router.get("/topics", response=schemas.TopicPage, url_name="topics", summary="Topics")
def topics(request: HttpRequest, query: Query[PageQuery]):
    """Every topic, by name, with its number of events not yet over (as /topics/)."""
    page = cursors.position_page(topics_overview(), cursor=query.cursor, limit=query.limit, scope="topics")
    show = Represent(request)
    return json_answer({"items": [show.topic(t) for t in page.items], "next": page.next, "ignored": []})


@router.get("/topics/{slug}", response=schemas.TopicDetail, url_name="topic", summary="One topic")
def topic(request: HttpRequest, slug: str = SLUG):
    """A topic's upcoming events, open calls for speakers and recent events (as its page)."""
    found = topic_detail(slug)
    if found is None:
        return _moved(SlugKind.TOPIC, slug, "topic")
    sections = topic_page(found)
    show = Represent(request)
    show.load_topics([*sections.upcoming, *sections.open_calls, *sections.recent])
    return json_answer({
        **show.topic(found, upcoming=sections.upcoming_count),
        "upcoming": [show.event(e) for e in sections.upcoming],
        "open_calls": [show.event(e) for e in sections.open_calls],
        "recent": [show.event(e) for e in sections.recent],
    })


@router.get("/coverage", response=schemas.CoveragePage, url_name="coverage", summary="Coverage: slides, videos…")
def coverage(request: HttpRequest, query: Query[CoverageQuery]):
    """The /coverage/ list, newest first: by kind, speaker (``person``), ``topic`` or ``event``."""
    filters = coverage_filters(cleaned(query), filter_choices())
    page = cursors.keyset_page(coverage_rows(filters), cursor=query.cursor, limit=query.limit,
                               scope="coverage")
    return json_answer({"items": [Represent.coverage(c) for c in page.items], "next": page.next,
                        "ignored": filters.ignored})
