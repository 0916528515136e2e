"""Hand-built :class:`~digest.values.Digest` values for the rendering and message tests."""

from __future__ import annotations

import datetime as dt

from digest.values import Digest, DigestItem, EventCard, PersonCard

BASE = "https://lanyard.example.com"
DIGEST_DATE = dt.date(2026, 3, 2)


def person(pid: int, name: str) -> PersonCard:
    handle = f"person{pid}"
    return PersonCard(
        id=pid, name=name, handle=handle, avatar_url=f"https://avatars.example.org/{handle}.png",
        url=f"{BASE}/people/{handle}/",
    )


def event(
    eid: int, name: str, *, days: int = 10, length: int = 2, city: str = "Pittsburgh", country: str = "United States"
) -> EventCard:
    start = DIGEST_DATE + dt.timedelta(days=days)
    return EventCard(
        id=eid, name=name, slug=f"event-{eid}", start_date=start,
        end_date=start + dt.timedelta(days=length), city=city, country=country,
        url=f"{BASE}/events/event-{eid}/", ics_url=f"{BASE}/events/event-{eid}/event.ics",
    )


ADA = person(1, "Ada Lovelace")
ALAN = person(2, "Alan Turing")
GRACE = person(3, "Grace Hopper")
LINUS = person(4, "Linus Torvalds")
MARGARET = person(5, "Margaret Hamilton")
KATHERINE = person(6, "Katherine Johnson")
RECIPIENT = person(100, "Barbara Liskov")


def make_digest(
    new_items=(), *, more_count: int = 0, soon_items=(), recipient: PersonCard = RECIPIENT,
    email: str = "barbara@example.net", subscription_id: int = 42, list_name: str = "daily",
) -> Digest:
    return Digest(
        subscription_id=subscription_id, list_name=list_name, email=email, recipient=recipient,
        digest_date=DIGEST_DATE, new_items=tuple(new_items), more_count=more_count,
        soon_items=tuple(soon_items), calendar_url=f"{BASE}/calendar/",
        unsubscribe_url=f"{BASE}/u/TOKEN123.sig", manage_url=f"{BASE}/account/digests/",
        feed_url=f"{BASE}/calendar/FEEDTOKEN.ics", sender_name="lanyard",
        postal_address="lanyard Events Lda., 1 Rua Augusta, 1100-048 Lisbon, Portugal",
    )


def rich_digest() -> Digest:
    """Several events, speakers and attendees, "and N more", an "also coming up" section."""
    return make_digest(
        [
            DigestItem(event(1, "PyCon US", days=3), speakers=(ADA,), attendees=(ALAN, GRACE)),
            DigestItem(
                event(2, "EuroPython", days=20, city="Prague", country="Czechia"), speakers=(), attendees=(LINUS, ADA)
            ),
            DigestItem(
                event(3, "DjangoCon Europe", days=40, length=0, city="Dublin", country="Ireland"),
                speakers=(MARGARET, KATHERINE),
                attendees=(),
            ),
        ],
        more_count=2,
        soon_items=[
            DigestItem(
                event(9, "Python Meetup Berlin", days=2, length=0, city="Berlin", country="Germany"),
                speakers=(),
                attendees=(GRACE,),
            )
        ],
    )


def single_digest() -> Digest:
    """One person at one event."""
    return make_digest([DigestItem(event(1, "PyCon US"), speakers=(), attendees=(ADA,))])


def hostile_digest() -> Digest:
    """Names that try to break out of the markup, the headers and the links."""
    evil = PersonCard(id=66, name='<script>alert("x")</script> Mallory & "Eve"', handle="mallory",
                      avatar_url='https://avatars.example.org/m.png?a=1&b="><script>x</script>',
                      url=f'{BASE}/people/mallory/?a=1&b="><script>x</script>')
    event_card = EventCard(
        id=66, name="<img src=x onerror=alert(1)>Evil\r\nBcc: victim@example.com", slug="evil",
        start_date=DIGEST_DATE, end_date=DIGEST_DATE, city="<b>Nowhere</b>", country="Ünïcode–Land",
        url=f"{BASE}/events/evil/?a=1&b=2",
    )
    return make_digest(
        [DigestItem(event_card, speakers=(evil,), attendees=())],
        recipient=PersonCard(id=101, name="José <Ñoño>\r\nX-Evil: 1", handle="jose", avatar_url=f"{BASE}/a.png",
                              url=f"{BASE}/people/jose/"),
    )
