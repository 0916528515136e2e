"""Building one subscriber's :class:`~digest.values.Digest` from plain values.

Pure functions: what a strategy found (friend events), the events' start dates, what
earlier digests mentioned, and hydrated cards go in; the digest's content comes out.
Nothing here touches a store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from digest.values import Digest, DigestItem, EventCard, FriendEvents, PersonCard, Window
from digest.vocabulary import Role

UPCOMING_DAYS = 365  # how far ahead "upcoming" reaches
MAX_ITEMS = 20  # new events per email; the rest is "and N more" with a calendar link
SOON_DAYS = 7  # "also coming up": mentioned before, starting within this many days
MAX_SOON = 10


def upcoming_window(digest_date: dt.date) -> Window:
    return Window(start=digest_date, end=digest_date + dt.timedelta(days=UPCOMING_DAYS))


@dataclass(frozen=True, slots=True)
class Links:
    """Absolute URLs on the site, so every link in an email works from a mail client, and
    the sender's name and postal address that every email's footer carries (CAN-SPAM)."""

    base_url: str
    manage: str  # digest.links.manage_link
    sender_name: str = ""
    postal_address: str = ""

    def event(self, slug: str) -> str:
        return f"{self.base_url}/events/{slug}/"

    def person(self, handle: str) -> str:
        return f"{self.base_url}/people/{handle}/"

    def event_ics(self, slug: str) -> str:
        """The event's iCalendar file on the site: "Add to calendar"."""
        return f"{self.base_url}/events/{slug}/event.ics"

    def feed(self, token: str) -> str:
        """A person's calendar feed (the token is ``TokenSigner.sign_feed``'s)."""
        return f"{self.base_url}/calendar/{token}.ics"

    @property
    def calendar(self) -> str:
        return f"{self.base_url}/calendar/"


@dataclass(frozen=True, slots=True)
class Selection:
    """Which events one digest shows: event ids, soonest first."""

    new: tuple[int, ...]
    more_count: int
    soon: tuple[int, ...]

    @property
    def empty(self) -> bool:
        """Nothing new: no email at all (the "also coming up" part never sends one alone)."""
        return not self.new


def date_order(starts: Mapping[int, dt.date]) -> list[int]:
    """Event ids soonest first (ties by id)."""
    return [e for _, e in sorted((start, e) for e, start in starts.items())]


@dataclass(frozen=True, slots=True)
class EventOrder:
    """Every known event soonest first (``order``), each one's position in it (``rank``)
    and its start date: made once per chunk, shared by its digests."""

    order: Sequence[int]
    rank: Mapping[int, int]
    starts: Mapping[int, dt.date]

    @classmethod
    def of(cls, starts: Mapping[int, dt.date]) -> EventOrder:
        order = date_order(starts)
        return cls(order=order, rank={e: i for i, e in enumerate(order)}, starts=starts)


def select_events(
    friends: FriendEvents,
    mentioned: Collection[int],
    *,
    known_events: EventOrder,
    digest_date: dt.date,
    max_items: int = MAX_ITEMS,
) -> Selection:
    """Split friend events into new ones (capped) and already-mentioned ones starting soon.

    Events missing from ``known_events`` (deleted since the graph was built) are left out.
    Popular people go to a good share of all events, so a digest rarely needs more than
    the first few dozen entries of its order to find its events.
    """
    order, rank, starts = known_events.order, known_events.rank, known_events.starts
    ids = friends.keys()
    known = ids & rank.keys()
    old = known & set(mentioned)
    new_total = len(known) - len(old)
    if not new_total:
        new: list[int] = []
    elif len(known) * 8 < len(order):  # few events: sort them rather than scan the order
        new = sorted((e for e in known if e not in old), key=rank.__getitem__)[:max_items]
    else:
        new = []
        for e in order:
            if e in ids and e not in old:
                new.append(e)
                if len(new) == max_items:
                    break
    soon_until = digest_date + dt.timedelta(days=SOON_DAYS)
    soon = sorted((e for e in old if starts[e] <= soon_until), key=rank.__getitem__)[:MAX_SOON]
    return Selection(new=tuple(new), more_count=new_total - len(new), soon=tuple(soon))


def shown_people(people: Mapping[int, str]) -> tuple[list[int], list[int]]:
    """The followed people at an event: speakers, attendees.

    All of them: the renderer names the first few and counts the rest.
    """
    speakers = [p for p, role in people.items() if role == Role.SPEAKING]
    attendees = [p for p, role in people.items() if role != Role.SPEAKING]
    return speakers, attendees


def people_to_hydrate(friends: FriendEvents, selection: Selection) -> set[int]:
    wanted: set[int] = set()
    for event_id in (*selection.new, *selection.soon):
        speakers, attendees = shown_people(friends[event_id])
        wanted.update(speakers)
        wanted.update(attendees)
    return wanted


@dataclass(frozen=True, slots=True)
class Recipient:
    """Whom one digest goes to: the subscription, the person, and the links signed for them alone."""

    subscription_id: int
    list_name: str
    email: str
    card: PersonCard
    unsubscribe_url: str
    feed_url: str = ""


@dataclass(frozen=True, slots=True)
class Cards:
    """The hydrated event and person cards a group of digests draws on."""

    events: Mapping[int, EventCard]
    people: Mapping[int, PersonCard]


def build_digest(
    *,
    recipient: Recipient,
    digest_date: dt.date,
    friends: FriendEvents,
    selection: Selection,
    cards: Cards,
    links: Links,
) -> Digest:
    events, people = cards.events, cards.people

    def item(event_id: int) -> DigestItem:
        speakers, attendees = shown_people(friends[event_id])
        return DigestItem(
            event=events[event_id],
            speakers=_cards(speakers, people),
            attendees=_cards(attendees, people),
        )

    return Digest(
        subscription_id=recipient.subscription_id,
        list_name=recipient.list_name,
        email=recipient.email,
        recipient=recipient.card,
        digest_date=digest_date,
        new_items=tuple(item(e) for e in selection.new),
        more_count=selection.more_count,
        soon_items=tuple(item(e) for e in selection.soon),
        calendar_url=links.calendar,
        unsubscribe_url=recipient.unsubscribe_url,
        manage_url=links.manage,
        feed_url=recipient.feed_url,
        sender_name=links.sender_name,
        postal_address=links.postal_address,
    )


def _cards(ids: list[int], people: Mapping[int, PersonCard]) -> tuple[PersonCard, ...]:
    # A person deleted since the graph was built is simply not named.
    cards = [people[p] for p in ids if p in people]
    cards.sort(key=lambda card: card.name)
    return tuple(cards)
