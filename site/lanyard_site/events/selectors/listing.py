"""/events/: the events list and its filters (upcoming or past, topic, city, country, month)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from django.db.models import QuerySet

from ..models import Event, Topic
from . import shared
from .shared import FilterChoices, clean_text

_MONTH = re.compile(r"(\d{4})-(\d{2})")


class When(StrEnum):
    UPCOMING = "upcoming"
    PAST = "past"


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
    now = shared.today()
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
    return rows  # topics: the page reads them for rows not cached (rows.py), the API for all
