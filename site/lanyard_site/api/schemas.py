"""What the API answers, as pydantic schemas (django-ninja): its OpenAPI document and the
check that every answer is what the document says."""

from __future__ import annotations

import datetime as dt
from types import GenericAlias

from ninja import Schema
from pydantic import Field


class Problem(Schema):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[dict] | None = Field(default=None, description="What was wrong with each input (422).")


class TopicRef(Schema):
    slug: str
    name: str
    url: str
    api_url: str


class Topic(TopicRef):
    upcoming_events: int


class EventSummary(Schema):
    slug: str
    name: str
    start_date: dt.date
    end_date: dt.date
    timezone: str
    city: str
    country: str
    venue: str
    topics: list[TopicRef]
    url: str
    api_url: str


class PersonRef(Schema):
    handle: str
    name: str
    url: str
    api_url: str


class TalkSummary(Schema):
    id: int
    title: str
    starts_at: dt.datetime | None
    room: str
    speakers: list[PersonRef]
    url: str
    api_url: str


class CoverageItem(Schema):
    id: int
    kind: str
    title: str
    link: str
    status: str
    provider: str
    created_at: dt.datetime
    event: str | None = Field(description="The slug of the event it covers (directly or through a talk).")
    talk: int | None = Field(description="The id of the talk it covers, if it covers a talk.")


class RoleCount(Schema):
    count: int
    first: list[PersonRef] = Field(description="The first people by name, as the event page shows them.")


class EventCounts(Schema):
    talks: int
    attendees: int
    speakers: int
    coverage: int


class EventDetail(EventSummary):
    description: str
    event_url: str = Field(description="The event's own web site.")
    cfp_deadline: dt.date | None
    counts: EventCounts
    attendees: RoleCount
    speakers: RoleCount
    talks: list[TalkSummary]
    coverage: list[CoverageItem]


class TalkDetail(TalkSummary):
    abstract: str
    event: EventSummary
    coverage: list[CoverageItem]


class PersonSummary(PersonRef):
    bio: str
    avatar_url: str


class PersonEventRef(Schema):
    role: str
    event: EventSummary


class AccountOut(Schema):
    provider: str
    handle: str
    profile_url: str


class FollowedPerson(PersonSummary):
    sources: list[str] = Field(description="Why you follow them: manual (on lanyard), github, mastodon, bluesky.")


class CoSpeaker(Schema):
    person: PersonRef
    shared_events: int


class PersonDetail(PersonSummary):
    accounts: list[AccountOut] = Field(description="Their verified accounts on other networks.")
    upcoming: list[PersonEventRef]
    past: list[PersonEventRef]
    talks: list[TalkSummary]
    co_speakers: list[CoSpeaker]
    co_speakers_error: str = Field(description="Why co-speakers are missing (search away or switched off), or empty.")


class TopicDetail(Topic):
    upcoming: list[EventSummary]
    open_calls: list[EventSummary]
    recent: list[EventSummary]


class SearchHit(Schema):
    type: str
    title: str
    snippet: str
    url: str
    api_url: str | None = Field(description="The hit's JSON twin (none for coverage: its link is elsewhere).")


class Facet(Schema):
    value: str
    count: int


class SearchFacets(Schema):
    type: list[Facet]
    topic: list[Facet]
    city: list[Facet]
    when: list[Facet]


class SearchAnswer(Schema):
    query: str
    total: int
    results: list[SearchHit]
    facets: SearchFacets
    ignored: list[str]
    next: str | None


class CalendarFollowed(Schema):
    person: PersonRef
    role: str


class CalendarEntry(Schema):
    event: EventSummary
    followed: list[CalendarFollowed]


class FollowState(Schema):
    person: PersonRef
    following: bool
    changed: bool


class SubscriptionOut(Schema):
    id: int
    list: str
    status: str
    email: str
    send_hour: int | None
    last_sent_date: dt.date | None


class Me(PersonSummary):
    pass


def page_of(item: type[Schema], name: str) -> type[Schema]:
    """A page of ``item``: the items, the next page's cursor, and the filters not applied."""
    return type(name, (Schema,), {
        "__annotations__": {"items": GenericAlias(list, (item,)), "next": str | None, "ignored": list[str]},
        "__module__": __name__,
    })


EventPage = page_of(EventSummary, "EventPage")
TalkPage = page_of(TalkSummary, "TalkPage")
PersonPage = page_of(PersonSummary, "PersonPage")
TopicPage = page_of(Topic, "TopicPage")
CoveragePage = page_of(CoverageItem, "CoveragePage")
CalendarPage = page_of(CalendarEntry, "CalendarPage")
FollowsPage = page_of(FollowedPerson, "FollowsPage")
SubscriptionsPage = page_of(SubscriptionOut, "SubscriptionsPage")
