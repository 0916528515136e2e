"""The browsing pages. Thin: every read is a selector; these only pick the template."""

from functools import lru_cache, partial
from urllib.parse import quote

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from .. import stores
from ..ops.services import flag_active
from .models import Coverage, SlugKind
from .selectors import home as home_reads
from .selectors import shared
from .selectors.coverage import coverage_filters, coverage_rows
from .selectors.event import Directory, event_by_slug, event_people, event_schedule
from .selectors.event import event_directory as directory_page
from .selectors.listing import event_filters, events_browse
from .selectors.old_slugs import current_slug
from .selectors.paging import paginate
from .selectors.people import (
    CoSpeakers,
    co_speakers,
    person_accounts,
    person_detail,
    person_past,
    person_talks,
    person_upcoming,
    speakers_directory,
)
from .selectors.rows import with_row_topics
from .selectors.search import run_search, search_request
from .selectors.talk import talk_detail
from .selectors.topics import topic_detail, topic_page, topics_overview

_VIEW_OF = {SlugKind.EVENT: "event", SlugKind.PERSON: "person", SlugKind.TOPIC: "topic"}


def moved(request, kind: str, slug: str, rest: str = ""):
    """An old slug (or one not in slug form): 301 to the row's page as it is named now."""
    kind = SlugKind(kind)
    current = current_slug(kind, slug)
    if current is None or current == slug:
        raise Http404("no such page")
    location = reverse(_VIEW_OF[kind], args=[current]) + quote(rest)
    if request.META.get("QUERY_STRING"):
        location += "?" + request.META["QUERY_STRING"]
    return HttpResponsePermanentRedirect(location)


@require_safe
def home(request):
    return render(request, "events/home.html", {"home": home_reads.home(), "days": home_reads.UPCOMING_DAYS})


@require_safe
def events(request):
    choices = shared.filter_choices()
    filters = event_filters(request.GET, choices)
    page = paginate(events_browse(filters), request.GET.get("page"))
    page.object_list = with_row_topics(page.object_list)
    return render(request, "events/events.html", {"page": page, "filters": filters, "choices": choices})


@require_safe
def event(request, slug: str):
    event = event_by_slug(slug)
    if event is None:
        return moved(request, SlugKind.EVENT, slug)
    return render(request, "events/event.html", {
        "event": event,
        "today": shared.today(),
        # Read only when their cached fragments are missing (cascades touch the event).
        "schedule": SimpleLazyObject(partial(event_schedule, event)),
        "people": SimpleLazyObject(partial(event_people, event)),
    })


@require_safe
def event_directory(request, slug: str, directory: str):
    event = event_by_slug(slug)
    if event is None:
        return moved(request, SlugKind.EVENT, slug, f"{directory}/")
    directory = Directory(directory)
    listing = directory_page(
        event, directory, query=_search_text(request), raw_page=request.GET.get("page"), index=stores.search(),
    )
    return render(request, "events/directory.html", {"event": event, "directory": directory, "listing": listing})


@require_safe
def talk(request, talk_id: int):
    talk = talk_detail(talk_id)
    if talk is None:
        raise Http404("no such talk")
    return render(request, "events/talk.html", {"talk": talk})


@require_safe
def person(request, handle: str):
    person = person_detail(handle)
    if person is None:
        return moved(request, SlugKind.PERSON, handle)
    return render(request, "events/person.html", {
        "person": person,
        "today": shared.today(),
        # Read only when their cached fragments are missing (cascades touch the person).
        "upcoming": SimpleLazyObject(partial(person_upcoming, person)),
        "past": SimpleLazyObject(partial(person_past, person)),
        "talks": SimpleLazyObject(partial(person_talks, person)),
        "co_speakers": _co_speakers(request, person),
        "accounts": person_accounts(person),
    })


def _co_speakers(request, person) -> CoSpeakers:
    if not flag_active(request, "search"):
        return CoSpeakers(people=[], error="search is switched off")
    return co_speakers(person, stores.search())


@require_safe
def people(request):
    listing = speakers_directory(
        query=_search_text(request), raw_page=request.GET.get("page"), index=stores.search(),
    )
    return render(request, "events/people.html", {"listing": listing})


@require_safe
def topics(request):
    return render(request, "events/topics.html", {"topics": topics_overview()})


@require_safe
def topic(request, slug: str):
    topic = topic_detail(slug)
    if topic is None:
        return moved(request, SlugKind.TOPIC, slug)
    return render(request, "events/topic.html", {"topic": topic, "sections": topic_page(topic)})


@require_safe
def coverage(request):
    choices = shared.filter_choices()
    filters = coverage_filters(request.GET, choices)
    page = paginate(coverage_rows(filters), request.GET.get("page"))
    return render(request, "events/coverage.html", {
        "page": page, "filters": filters, "choices": choices, "kinds": Coverage.Kind.choices,
    })


def _search_text(request) -> str:
    """A directory's name filter (answered by the search engine); ignored while the ``search`` flag is off."""
    return shared.clean_text(request.GET.get("q")) if flag_active(request, "search") else ""


@require_safe
def search(request):
    if not flag_active(request, "search"):  # e.g. while the search cluster is upgraded
        return render(request, "ops/feature_off.html", {"feature": "Search"}, status=503)
    found = run_search(search_request(request.GET, shared.filter_choices()), stores.search())
    return render(request, "events/search.html", {"found": found}, status=503 if found.error else 200)


ROBOTS = """User-agent: *
Disallow: /admin/
Disallow: /accounts/
Disallow: /calendar/
Disallow: /subscriptions/
Disallow: /search/
"""


@require_safe
@cache_control(max_age=86400, public=True)
def robots(request):
    return HttpResponse(ROBOTS, content_type="text/plain; charset=utf-8")


@lru_cache(maxsize=1)
def _favicon() -> bytes:
    return (settings.SITE_DIR / "static" / "lanyard" / "favicon.ico").read_bytes()


@require_safe
@cache_control(max_age=86400, public=True)
def favicon(request):
    return HttpResponse(_favicon(), content_type="image/x-icon")
