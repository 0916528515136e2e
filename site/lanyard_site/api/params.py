"""Query parameters of the API's lists. Filter values are plain text: the selectors check
them against what exists, as they do for the pages (a value naming nothing is reported in
``ignored``, not refused); paging values are checked here (422 when out of range)."""

from __future__ import annotations

from ninja import Schema
from pydantic import Field

from .cursors import DEFAULT_LIMIT, MAX_LIMIT

TEXT = 200  # characters of a filter value that are read (the selectors cut them shorter)


class PageQuery(Schema):
    cursor: str | None = Field(None, max_length=2000, description="From the previous page's ``next``.")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page.")


class EventQuery(PageQuery):
    when: str | None = Field(None, max_length=TEXT, description="``upcoming`` (the default) or ``past``.")
    topic: str | None = Field(None, max_length=TEXT, description="A topic's slug.")
    city: str | None = Field(None, max_length=TEXT)
    country: str | None = Field(None, max_length=TEXT)
    month: str | None = Field(None, max_length=TEXT, description="``YYYY-MM``: events on during that month.")


class TalkQuery(PageQuery):
    event: str | None = Field(None, max_length=TEXT, description="An event's slug: its talks only.")


class PeopleQuery(PageQuery):
    q: str | None = Field(None, max_length=1000, description="Words of a name; searches everyone.")


class CoverageQuery(PageQuery):
    kind: str | None = Field(None, max_length=TEXT, description="slides, video, notes or writeup.")
    person: str | None = Field(None, max_length=TEXT, description="A speaker's handle: coverage of their talks.")
    topic: str | None = Field(None, max_length=TEXT, description="A topic's slug.")
    event: str | None = Field(None, max_length=TEXT, description="An event's slug.")


class SearchQuery(Schema):
    q: str = Field("", max_length=1000, description="The words to find.")
    type: str | None = Field(None, max_length=TEXT, description="event, session, person or coverage.")
    topic: str | None = Field(None, max_length=TEXT, description="A topic's name (as the facet gives it).")
    city: str | None = Field(None, max_length=TEXT)
    when: str | None = Field(None, max_length=TEXT, description="upcoming or past.")
    cursor: str | None = Field(None, max_length=2000, description="From the previous page's ``next``.")


class CalendarQuery(PageQuery):
    speaking: str | None = Field(None, max_length=TEXT, description="``1``: only events where they speak.")
    topic: str | None = Field(None, max_length=TEXT, description="A topic's slug.")
    month: str | None = Field(None, max_length=TEXT, description="``YYYY-MM``.")


FILTERS = ("when", "topic", "city", "country", "month", "kind", "person", "event", "q", "type", "speaking")


def cleaned(query: Schema) -> dict[str, str]:
    """The query's filter values as the selectors read them from a page's query string."""
    values = query.dict()
    return {name: values[name] for name in FILTERS if values.get(name) is not None}
