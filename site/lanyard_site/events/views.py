"""The browsing pages the digest emails link to. Thin: reads are in selectors."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponsePermanentRedirect
from django.shortcuts import render
from django.urls import reverse

from . import selectors
from .models import Attendance, SlugKind

_VIEW_OF = {SlugKind.EVENT: "event", SlugKind.PERSON: "person", SlugKind.TOPIC: "topic"}

PAGE_SIZE = 50


def home(request):
    page = Paginator(selectors.events_upcoming(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "events/home.html", {"page": page, "days": selectors.UPCOMING_DAYS})


def moved(request, kind: str, slug: str, rest: str = ""):
    """An old slug (or one not in slug form): 301 to the row's page as it is named now."""
    kind = SlugKind(kind)
    current = selectors.current_slug(kind, slug)
    if current is None or current == slug:
        raise Http404("no such page")
    location = reverse(_VIEW_OF[kind], args=[current]) + rest
    if request.META.get("QUERY_STRING"):
        location += "?" + request.META["QUERY_STRING"]
    return HttpResponsePermanentRedirect(location)


def event(request, slug: str):
    event = selectors.event_detail(slug)
    if event is None:
        return moved(request, SlugKind.EVENT, slug)
    return render(request, "events/event.html", {
        "event": event,
        "talks": selectors.event_talks(event),
        "speakers": selectors.event_people(event, role=Attendance.Role.SPEAKING),
        "attendees": selectors.event_people(event, role=Attendance.Role.ATTENDING),
    })


def talk(request, talk_id: int):
    return render(request, "events/talk.html", {"talk": selectors.talk_detail(talk_id)})


def person(request, handle: str):
    person = selectors.person_detail(handle)
    if person is None:
        return moved(request, SlugKind.PERSON, handle)
    upcoming, past = selectors.person_attendances(person)
    return render(request, "events/person.html", {
        "person": person, "upcoming": upcoming, "past": past, "talks": selectors.person_talks(person),
    })


def topic(request, slug: str):
    topic = selectors.topic_detail(slug)
    if topic is None:
        return moved(request, SlugKind.TOPIC, slug)
    page = Paginator(selectors.topic_events(topic), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "events/topic.html", {"topic": topic, "page": page})


@login_required
def calendar(request):
    person = selectors.person_of(request.user)
    page, entries = None, []
    if person is not None:
        page = Paginator(selectors.calendar_event_ids(person), PAGE_SIZE).get_page(request.GET.get("page"))
        entries = selectors.events_for_calendar(person, page_events=list(page.object_list))
    return render(request, "events/calendar.html", {"person": person, "page": page, "entries": entries})
