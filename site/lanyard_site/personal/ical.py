"""RFC 5545 iCalendar output (the ``icalendar`` package): one event, or a person's calendar feed."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse
from icalendar import Calendar, vUri
from icalendar import Event as VEvent

from ..events.models import Event
from .selectors import CalendarEntry

PRODID = "-//lanyard//events calendar//EN"


def _calendar(name: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    return calendar


def _vevent(event: Event, description: str) -> VEvent:
    base_url = settings.LANYARD.site.base_url
    vevent = VEvent()
    vevent.add("uid", f"event-{event.pk}@{urlsplit(base_url).hostname}")
    # Stable: the feed's bytes change only when the events do, so clients and caches agree.
    vevent.add("dtstamp", event.created_at.astimezone(dt.UTC))
    vevent.add("dtstart", event.start_date)
    vevent.add("dtend", event.end_date + dt.timedelta(days=1))  # all-day: the end is exclusive
    vevent.add("summary", event.name)
    where = ", ".join(part for part in (event.venue, event.city, event.country) if part)
    if where:
        vevent.add("location", where)
    vevent.add("url", vUri(base_url + reverse("event", args=[event.slug])))
    if description:
        vevent.add("description", description)
    vevent.add("sequence", event.cache_version)
    return vevent


def event_ics(event: Event) -> bytes:
    calendar = _calendar(event.name)
    calendar.add_component(_vevent(event, event.description))
    return calendar.to_ical()


def calendar_ics(entries: list[CalendarEntry], *, name: str) -> bytes:
    calendar = _calendar(name)
    for entry in entries:
        who = ", ".join(
            f"{person.name}{' (speaking)' if role == 'speaking' else ''}" for person, role in entry.followed
        )
        calendar.add_component(_vevent(entry.event, f"People you follow: {who}" if who else ""))
    return calendar.to_ical()
