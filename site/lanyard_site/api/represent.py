"""Rows as the API shows them: plain dicts in the shapes of ``schemas``. Each takes rows
already read (with what they need prefetched), so it makes no query of its own."""

from __future__ import annotations

from collections.abc import Iterable

from django.http import HttpRequest

from ..events.models import Coverage, Event, Person, Session, Topic
from ..events.selectors.rows import SpeakerName, TopicName, event_topics, talk_speakers
from ..links import path_to
from ..mailing.models import Subscription

API = "api-v1"


class Represent:
    """Absolute links for one request (the page and the JSON twin of each row).

    A list of 100 events has ~600 links: Django's reverse() and build_absolute_uri() for
    each were most of the topics endpoint's time (profiled), so each URL name is reversed
    once per process (links.py) and the request's origin read once."""

    def __init__(self, request: HttpRequest):
        self.request = request
        self.origin = request.build_absolute_uri("/")[:-1]
        self.topics: dict[int, list[TopicName]] = {}
        self.speakers: dict[int, list[SpeakerName]] = {}

    def _link(self, name: str, arg: str | int) -> str:
        return self.origin + path_to(name, arg)

    def topic_ref(self, topic: Topic | TopicName) -> dict:
        return {"slug": topic.slug, "name": topic.name, "url": self._link("topic", topic.slug),
                "api_url": self._link(f"{API}:topic", topic.slug)}

    def load_topics(self, events: Iterable[Event]) -> None:
        """The topics of events about to be shown, from the per-process cache (rows.py)."""
        self.topics.update(event_topics(events))

    def load_speakers(self, talks: Iterable[Session]) -> None:
        """The speakers of talks about to be shown, from the per-process cache (rows.py)."""
        self.speakers.update(talk_speakers(talks))

    def topic(self, topic: Topic, *, upcoming: int | None = None) -> dict:
        """``upcoming``: its events not yet over, when not annotated on the row (as the overview does)."""
        count = upcoming if upcoming is not None else getattr(topic, "upcoming", 0)
        return {**self.topic_ref(topic), "upcoming_events": count}

    def event(self, event: Event) -> dict:
        """An event; its topics loaded (``load_topics``) or prefetched."""
        topics = self.topics.get(event.pk)
        return {
            "slug": event.slug, "name": event.name, "start_date": event.start_date, "end_date": event.end_date,
            "timezone": event.timezone, "city": event.city, "country": event.country, "venue": event.venue,
            "topics": [self.topic_ref(t) for t in (event.topics.all() if topics is None else topics)],
            "url": self._link("event", event.slug), "api_url": self._link(f"{API}:event", event.slug),
        }

    def person_ref(self, person: Person | SpeakerName) -> dict:
        return {"handle": person.handle, "name": person.name, "url": self._link("person", person.handle),
                "api_url": self._link(f"{API}:person", person.handle)}

    def person(self, person: Person) -> dict:
        return {**self.person_ref(person), "bio": person.bio, "avatar_url": person.avatar_url}

    def talk(self, talk: Session) -> dict:
        """A talk; its speakers loaded (``load_speakers``) or prefetched."""
        speakers = self.speakers.get(talk.pk)
        return {
            "id": talk.pk, "title": talk.title, "starts_at": talk.starts_at, "room": talk.room,
            "speakers": [self.person_ref(p) for p in (talk.speakers.all() if speakers is None else speakers)],
            "url": self._link("talk", talk.pk), "api_url": self._link(f"{API}:talk", talk.pk),
        }

    @staticmethod
    def coverage(item: Coverage) -> dict:
        """A coverage item; its event and its talk's event must be selected."""
        event = item.event or (item.session.event if item.session is not None else None)
        return {
            "id": item.pk, "kind": item.kind, "title": item.title, "link": item.url, "status": item.status,
            "provider": item.provider, "created_at": item.created_at,
            "event": event.slug if event is not None else None, "talk": item.session_id,
        }

    @staticmethod
    def subscription(subscription: Subscription) -> dict:
        return {"id": subscription.pk, "list": subscription.list, "status": subscription.status,
                "email": subscription.email, "send_hour": subscription.send_hour,
                "last_sent_date": subscription.last_sent_date}
