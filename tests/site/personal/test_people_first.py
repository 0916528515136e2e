"""The people you follow, first: from SINTER on the Redis graph, never an SQL join."""

from __future__ import annotations

import re

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from lanyard_site import stores
from lanyard_site.events.models import Follow, Person, Session

from .conftest import go, make_event, make_person, sign_in

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])


@pytest.fixture
def crowd(client, alias):
    me = sign_in(client, make_person("me"))
    people = {h: make_person(h) for h in ("ada", "bob", "carol", "dan", "eve", "zed")}
    for handle in ("zed", "carol", "ada"):
        Follow.objects.create(follower=me, followee=people[handle])
    conf = make_event("conf", 5)
    go(people["ada"], conf, "speaking")
    for handle in ("bob", "carol", "dan", "zed"):
        go(people[handle], conf)
    return me, people, conf


def followed_section(html: str) -> list[str]:
    section = html.split('followed-first">', 1)[1].split("</section>", 1)[0]
    return re.findall(r'href="/people/([^/]+)/"', section)


def test_event_page_lists_the_sinter_answer_first(client, crowd):
    me, people, conf = crowd
    graph = stores.graph()
    keys = graph.keys()
    expected = {int(m) for m in stores.redis().sinter(keys.follows(me.pk), keys.attendees(conf.pk))}
    assert expected == {people[h].pk for h in ("ada", "carol", "zed")}
    html = client.get("/events/conf/").content.decode()
    by_name = [p.handle for p in Person.objects.filter(pk__in=expected).order_by("name")]
    assert followed_section(html) == by_name
    assert "People you follow here (3)" in html and 'href="/people/ada/">Ada</a> (speaking)' in html
    # In the attendee list the followed come first, marked.
    attending = html.split("<h2>Attendees", 1)[1].split("</section>", 1)[0]
    assert re.findall(r'href="/people/([^/]+)/"', attending) == ["carol", "zed", "bob", "dan"]
    chips = re.findall(r'<li class="person-chip( followed)?"><a href="/people/([^/]+)/"', attending)
    assert [(handle, bool(mark)) for mark, handle in chips] == [
        ("carol", True),
        ("zed", True),
        ("bob", False),
        ("dan", False),
    ]


def test_following_changes_the_page_at_once(client, crowd):
    me, people, conf = crowd
    client.post("/people/dan/follow/")
    assert "dan" in followed_section(client.get("/events/conf/").content.decode())
    client.post("/people/carol/unfollow/")
    assert "carol" not in followed_section(client.get("/events/conf/").content.decode())


def test_event_rows_say_how_many_you_follow_are_going(client, crowd):
    me, people, conf = crowd
    other = make_event("other", 6)
    go(people["ada"], other)
    html = client.get("/").content.decode()
    rows = {slug: row for slug, row in re.findall(r'href="/events/([^/]+)/">[^<]*</a>(.*?)</li>', html, re.S)}
    assert "3 people you follow are going" in rows["conf"]
    assert "1 person you follow is going" in rows["other"]
    assert "3 people you follow are going" in client.get("/events/").content.decode()
    client.cookies.clear()
    assert 'class="going"' not in client.get("/").content.decode()  # signed out: no counts


def test_talk_speakers_followed_first(client, crowd):
    me, people, conf = crowd
    talk = Session.objects.create(event=conf, title="Parsing")
    talk.speakers.add(people["bob"], people["zed"])
    html = client.get(f"/talks/{talk.pk}/").content.decode()
    speakers = html.split('<ul class="people-grid">', 1)[1].split("</ul>", 1)[0]
    assert re.findall(r'<li class="person-chip( followed)?"><a href="/people/([^/]+)/"', speakers) == [
        (" followed", "zed"),
        ("", "bob"),
    ]


def test_directory_marks_and_lists_the_followed_first(client, crowd):
    html = client.get("/events/conf/attendees/").content.decode()
    assert followed_section(html) == ["ada", "carol", "zed"]
    listing = html.split('<ul class="people-grid wide">', 1)[1].split("</ul>", 1)[0]
    chips = re.findall(r'<li class="person-chip( followed)?"><a href="/people/([^/]+)/"', listing)
    assert chips[:2] == [(" followed", "carol"), (" followed", "zed")] and len(chips) == 4


def test_people_first_costs_one_query_and_no_join(client, crowd, alias):
    with CaptureQueriesContext(connections[alias]) as captured:
        assert client.get("/events/conf/").status_code == 200
    sql = [q["sql"] for q in captured.captured_queries]
    assert not [q for q in sql if '"follow"' in q]  # the follow table is never read: Redis answers
    assert not [q for q in sql if "django_session" in q or "auth_user" in q]


def test_person_page_follow_button(client, crowd):
    html = client.get("/people/ada/").content.decode()
    assert 'action="/people/ada/unfollow/"' in html
    html = client.get("/people/bob/").content.decode()
    assert 'action="/people/bob/follow/"' in html
    assert 'action="/people/me/follow/"' not in client.get("/people/me/").content.decode()  # not yourself
