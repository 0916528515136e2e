"""The browsing pages the digest emails link to. Thin: reads are in selectors."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from . import selectors
from .models import Attendance

PAGE_SIZE = 50


def home(request):
    page = Paginator(selectors.events_upcoming(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "events/home.html", {"page": page, "days": selectors.UPCOMING_DAYS})


def event(request, slug: str):
    event = selectors.event_detail(slug)
    return render(request, "events/event.html", {
        "event": event,
        "talks": selectors.event_talks(event),
        "speakers": selectors.event_people(event, role=Attendance.Role.SPEAKING),
        "attendees": selectors.event_people(event, role=Attendance.Role.ATTENDING),
        "coverage": selectors.event_coverage(event),
    })


def talk(request, talk_id: int):
    return render(request, "events/talk.html", {"talk": selectors.talk_detail(talk_id)})


def person(request, handle: str):
    person = selectors.person_detail(handle)
    upcoming, past = selectors.person_attendances(person)
    return render(request, "events/person.html", {
        "person": person, "upcoming": upcoming, "past": past, "talks": selectors.person_talks(person),
    })


def topic(request, slug: str):
    topic = selectors.topic_detail(slug)
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
