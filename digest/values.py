"""Plain values passed between the stages of the digest pipeline.

The stages are pure where they can be: ``friends`` yields :data:`FriendEvents` per
subscriber, hydration turns ids into :class:`PersonCard` and :class:`EventCard`,
``build`` makes one :class:`Digest` per subscription, rendering turns a ``Digest`` into
text and HTML. Nothing here touches a store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from digest.stores.keys import GraphKeys

# What a friend-events strategy (Redis sets or a search OR query) returns for one
# subscriber: event id → {followed person id → "speaking" | "attending"}.
FriendEvents = Mapping[int, Mapping[int, str]]


class LazyFriendEvents(Mapping):
    """A strategy's answer for one subscriber whose events are a set known up front and
    whose people at an event are worked out when asked: a digest asks about the 20-odd
    events it shows, not the hundreds a heavy follower's friends go to. Subclasses give
    ``__getitem__`` and ``speaking_events``."""

    __slots__ = ("_ids",)

    def __init__(self, ids: frozenset[int]):
        self._ids = ids

    def __getitem__(self, event_id: int) -> Mapping[int, str]:
        raise NotImplementedError

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def __iter__(self) -> Iterator[int]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def keys(self) -> frozenset[int]:  # type: ignore[override]  # a set, not a view
        # A real set, so callers can intersect it with others at C speed.
        return self._ids

    def speaking_events(self) -> frozenset[int]:
        """The events where someone followed speaks, without working out who is at each."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Window:
    """The date range of "upcoming" events a digest looks at, inclusive."""

    start: dt.date
    end: dt.date


@runtime_checkable
class FriendEventsStrategy(Protocol):
    name: str

    def friend_events(self, subscriber_ids: Sequence[int], window: Window) -> dict[int, FriendEvents]:
        """subscriber person id → {event id → {followed person id → a Role}}.

        Every subscriber asked about is in the answer, with an empty mapping when there
        is nothing. The inner mappings may be computed lazily (see :class:`FriendEventsView`).
        """


class FriendEventsFromFollows(FriendEventsStrategy, Protocol):
    """A strategy that can also start from follow sets read already (the planner reads
    them once for both strategies)."""

    def friend_events_from(
        self, follows: Mapping[int, Collection[int]], window: Window, keys: GraphKeys
    ) -> dict[int, FriendEvents]: ...

    def forget(self) -> None:
        """A new run: drop what was fetched."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One subscription's email as delivery sees it (``message`` None: nothing new, skip it)."""

    subscription_id: int
    email: str
    message: bytes | None = None
    message_id: str = ""
    envelope_sender: str = ""  # the signed return path (VERP) bounces come back to
    mentioned: Mapping[int, int] = field(default_factory=dict)  # event id → start day, remembered once sent


@dataclass(frozen=True, slots=True)
class PersonCard:
    id: int
    name: str
    handle: str
    avatar_url: str
    url: str  # absolute URL of the person's page on the site; the email links names to it
    feed_version: int = 1  # signs the person's calendar feed link (/calendar/<token>.ics)


@dataclass(frozen=True, slots=True)
class EventCard:
    id: int
    name: str
    slug: str
    start_date: dt.date
    end_date: dt.date
    city: str
    country: str
    url: str  # absolute URL of the event's page on the site
    ics_url: str = ""  # absolute URL of the event's iCalendar file ("Add to calendar")


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One event in a digest, with the followed people there."""

    event: EventCard
    speakers: tuple[PersonCard, ...]
    attendees: tuple[PersonCard, ...]


@dataclass(frozen=True, slots=True)
class Digest:
    """Everything one email says, and nothing about how it is sent."""

    subscription_id: int
    list_name: str
    email: str
    recipient: PersonCard
    digest_date: dt.date
    new_items: tuple[DigestItem, ...]  # soonest first, capped
    more_count: int  # new events left out by the cap
    soon_items: tuple[DigestItem, ...]  # mentioned before, starting within 7 days
    calendar_url: str
    unsubscribe_url: str
    manage_url: str
    feed_url: str = ""  # the recipient's personal calendar feed (signed), "" for none
    sender_name: str = ""  # who sends it, and their postal address, for the footer (CAN-SPAM)
    postal_address: str = ""
