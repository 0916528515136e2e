"""Attend, speak, track, follow, unfollow: POST, CSRF, login; the graph hears after commit."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from lanyard_site import stores
from lanyard_site.events.models import Attendance, Follow, Session

from .conftest import account, days, make_event, make_person, sign_in

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_follow_and_unfollow_reach_the_graph(client, alias):
    me, ada = sign_in(client, make_person("me")), make_person("ada")
    response = client.post(f"/people/{ada.handle}/follow/", follow=True)
    assert "You follow Ada." in messages_of(response)
    assert stores.graph().follows(me.pk) == {ada.pk}
    again = client.post(f"/people/{ada.handle}/follow/", follow=True)
    assert "You already follow Ada." in messages_of(again)
    assert Follow.objects.filter(follower=me).count() == 1  # nothing written twice
    response = client.post(f"/people/{ada.handle}/unfollow/", follow=True)
    assert "You no longer follow Ada." in messages_of(response)
    assert stores.graph().follows(me.pk) == set() and not Follow.objects.exists()
    assert "You were not following Ada." in messages_of(client.post(f"/people/{ada.handle}/unfollow/", follow=True))


def test_following_yourself_is_refused(client, alias):
    me = sign_in(client, make_person("me"))
    response = client.post(f"/people/{me.handle}/follow/", follow=True)
    assert "You cannot follow yourself." in messages_of(response)
    assert not Follow.objects.exists() and stores.graph().follows(me.pk) == set()


def test_attend_speak_track_and_leave(client, alias):
    me, conf = sign_in(client, make_person("me")), make_event("conf", 5, cfp_deadline=days(1))
    graph = stores.graph()
    assert "You are going: Conf." in messages_of(
        client.post("/events/conf/attendance/", {"role": "attending"}, follow=True)
    )
    assert graph.attendees(conf.pk) == {me.pk} and graph.speakers(conf.pk) == set()
    assert "Already so: Conf; nothing changed." in messages_of(
        client.post("/events/conf/attendance/", {"role": "attending"}, follow=True)
    )
    client.post("/events/conf/attendance/", {"role": "speaking"})
    assert graph.speakers(conf.pk) == {me.pk}
    client.post("/events/conf/attendance/", {"role": "tracking"})  # interested, not going: out of the digest's graph
    assert graph.attendees(conf.pk) == set()
    assert Attendance.objects.get(person=me, event=conf).role == "tracking"
    assert "You are no longer down for Conf." in messages_of(
        client.post("/events/conf/attendance/", {"role": "none"}, follow=True)
    )
    assert not Attendance.objects.exists()
    bad = client.post("/events/conf/attendance/", {"role": "owner"}, follow=True)
    assert "Choose attending, speaking or tracking; nothing was changed." in messages_of(bad)
    assert not Attendance.objects.exists()


def test_speaking_needs_an_upcoming_event_and_a_talk_or_an_open_call(client, alias):
    me = sign_in(client, make_person("me"))
    past, closed, mine = make_event("past", -3, cfp_deadline=days(-20)), make_event("closed", 9), make_event("mine", 9)
    Session.objects.create(event=mine, title="My talk").speakers.add(me)
    for event, reason in ((past, "The event is over."), (closed, "Speaking needs a talk of yours")):
        response = client.post(f"/events/{event.slug}/attendance/", {"role": "speaking"}, follow=True)
        assert any(f"You cannot say you are speaking at {event.name}: {reason}" in m for m in messages_of(response))
    assert not Attendance.objects.exists()
    client.post("/events/mine/attendance/", {"role": "speaking"})
    assert Attendance.objects.get().role == "speaking"
    # The page shows the part and offers "I'm speaking" only where it may be said.
    page = client.get("/events/mine/").content.decode()
    assert "You are speaking." in page and 'value="speaking" aria-pressed="true"' in page
    assert 'value="speaking"' not in client.get("/events/closed/").content.decode()


def test_my_own_events_are_in_my_calendar_and_feed(client, alias):
    me = sign_in(client, make_person("me"))
    going = make_event("going", 4)
    Attendance.objects.create(person=me, event=going, role="attending")
    page = client.get("/calendar/").content.decode()
    assert "Going" in page and "<strong>you</strong>" in page
    feed_url = re.search(r'<code class="feed-url">([^<]+)</code>', page).group(1)
    feed = client.get(feed_url[feed_url.index("/calendar/"):]).content.decode()
    assert "SUMMARY:Going" in feed


def test_unknown_things_are_404_and_write_nothing(client, alias):
    sign_in(client, make_person("me"))
    assert client.post("/events/no-such-event/attendance/", {"role": "attending"}).status_code == 404
    assert client.post("/people/nobody/follow/").status_code == 404
    assert not Attendance.objects.exists() and not Follow.objects.exists()


def test_writes_need_a_sign_in(client, alias):
    ada = make_person("ada")
    make_event("conf", 5)
    response = client.post(f"/people/{ada.handle}/follow/", {"next": "/people/ada/"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")
    response = client.post("/events/conf/attendance/", {"role": "attending"}, follow=True)
    assert "Please sign in first; nothing was changed." in messages_of(response)
    assert client.get(f"/people/{ada.handle}/follow/").status_code == 405  # a GET never writes
    assert not Follow.objects.exists() and not Attendance.objects.exists()


def test_writes_need_the_csrf_token(alias):
    browser = Client(enforce_csrf_checks=True)
    me, ada = make_person("me"), make_person("ada")
    account(me)
    browser.force_login(me.user)
    response = browser.post(f"/people/{ada.handle}/follow/")
    assert response.status_code == 403
    assert "That form could not be accepted" in response.content.decode() and "CSRF" not in response.content.decode()
    assert not Follow.objects.exists()


def test_a_signed_cookie_without_a_session_cannot_write(client, alias):
    sign_in(client, make_person("me"))
    ada = make_person("ada")
    client.cookies.pop("sessionid")  # the session is gone; the signed cookie alone remains
    response = client.post(f"/people/{ada.handle}/follow/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert response.cookies["lanyard_signed_in"].value == ""  # and the bar forgets it
    assert not Follow.objects.exists()
