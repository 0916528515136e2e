"""The calendar feed: signed, stateless, revocable, valid iCalendar; and event.ics."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from icalendar import Calendar

from digest.tokens import FeedRef, TokenSigner
from lanyard_site.events.models import Follow, Person

from .conftest import go, make_event, make_person, sign_in
from .feed_corpus import mutated_feed_tokens

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])


def feed_path(person: Person) -> str:
    person.refresh_from_db()
    token = TokenSigner(settings.LANYARD.secret_keys).sign_feed(FeedRef(person.pk, person.feed_version))
    return f"/calendar/{token}.ics"


@pytest.fixture
def followed(alias):
    me, ada, bob = make_person("me"), make_person("ada"), make_person("bob", name="Bob Émile")
    Follow.objects.create(follower=me, followee=ada)
    Follow.objects.create(follower=me, followee=bob)
    conf = make_event("conf", 4, venue="Hall 2", city="Lyon", country="France", description="Talks.")
    meetup = make_event("meetup", 40)
    go(ada, conf, "speaking")
    go(bob, conf)
    go(bob, meetup)
    go(ada, make_event("gone", -5))
    return me, conf, meetup


def parse(response) -> Calendar:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content)


def test_feed_is_the_calendar_as_icalendar(client, followed):
    me, conf, meetup = followed
    calendar = parse(client.get(feed_path(me)))  # no sign-in: the token is the key
    assert str(calendar["version"]) == "2.0" and "lanyard" in str(calendar["prodid"])
    events = {str(e["summary"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {"Conf", "Meetup"}
    first = events["Conf"]
    assert first.decoded("dtstart") == conf.start_date
    assert first.decoded("dtend") == conf.end_date + dt.timedelta(days=1)
    assert str(first["location"]) == "Hall 2, Lyon, France"
    assert str(first["url"]) == f"{settings.LANYARD.site.base_url}/events/conf/"
    assert str(first["description"]) == "People you follow: Ada (speaking), Bob Émile"
    assert str(first["uid"]).startswith(f"event-{conf.pk}@")
    assert len({str(e["uid"]) for e in events.values()}) == 2


def test_a_thousand_mutated_tokens_get_a_bare_404(client, followed):
    me, _, _ = followed
    me.refresh_from_db()
    corpus = mutated_feed_tokens(TokenSigner(settings.LANYARD.secret_keys), FeedRef(me.pk, me.feed_version))
    assert len(corpus) == 1000
    for token in corpus:
        response = client.get(f"/calendar/{token}.ics")
        # Either no URL matches at all (a "/" in it) or the feed refuses it, in the same words.
        assert response.status_code == 404, token
        if response.get("Content-Type", "").startswith("text/plain"):
            assert response.content == b"Not found\n", token
    assert client.get(feed_path(me)).status_code == 200


def test_reset_revokes_the_old_link(client, followed):
    me, _, _ = followed
    old = feed_path(me)
    assert client.get(old).status_code == 200
    sign_in(client, me)
    page = client.get("/calendar/").content.decode()
    assert old in page  # the page offers the link it would serve
    response = client.post("/calendar/feed/reset/")
    assert response.status_code == 302
    gone = client.get(old)
    assert gone.status_code == 404 and gone.content == b"Not found\n"
    new = feed_path(me)
    assert new != old and client.get(new).status_code == 200
    assert new in client.get("/calendar/").content.decode()


def test_feed_of_a_deleted_person_is_404(client, followed):
    me, _, _ = followed
    path = feed_path(me)
    Person.objects.filter(pk=me.pk).delete()
    assert client.get(path).status_code == 404


def test_event_ics(client, followed):
    _, conf, _ = followed
    calendar = parse(client.get(f"/events/{conf.slug}/event.ics"))
    (event,) = calendar.walk("VEVENT")
    assert str(event["summary"]) == "Conf" and event.decoded("dtstart") == conf.start_date
    assert str(event["description"]) == "Talks."
    assert client.get("/events/no-such-event/event.ics").status_code == 404


def test_calendar_rows_offer_add_to_calendar(client, followed):
    me, conf, _ = followed
    sign_in(client, me)
    page = client.get("/calendar/").content.decode()
    assert f'href="/events/{conf.slug}/event.ics"' in page
