"""/calendar/ asks the digest's own friend-events strategy: page and email agree."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from digest.demo.seed import SeedPlan, seed
from digest.graph.sync import rebuild as rebuild_graph
from digest.nightly.build import upcoming_window
from digest.nightly.friend_events import RedisFriendEvents
from digest.nightly.hydrate import subscriptions_by_id
from digest.nightly.pipeline import Pipeline
from digest.tokens import FeedRef, TokenSigner
from lanyard_site import stores
from lanyard_site.events.models import Attendance, Follow, Person, Topic
from lanyard_site.mailing.models import Subscription
from lanyard_site.personal import views

from .conftest import days, go, make_event, make_person, sign_in

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])


def calendar_pages(client, query: str = "") -> dict[int, dict[int, str]]:
    """Every page of the calendar: event id → followed person id → role."""
    shown: dict[int, dict[int, str]] = {}
    page = 1
    while True:
        response = client.get(f"/calendar/?{query}&page={page}")
        assert response.status_code == 200
        for entry in response.context["entries"]:
            assert entry.event.pk not in shown  # each event once, on one page
            shown[entry.event.pk] = {person.pk: role for person, role in entry.followed}
        if not response.context["page"].has_next():
            return shown
        page += 1


def test_calendar_equals_the_digests_friend_events_for_every_subscriber(client, alias, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 5)  # more pages from a small seed
    engine = stores.engine(alias)
    seed(engine, SeedPlan(people=400, events=80, subscribers=25, seed=3, today=timezone.localdate()))
    rebuild_graph(stores.graph(), engine)
    window = upcoming_window(timezone.localdate())
    subscribers = list(Person.objects.filter(subscriptions__isnull=False).distinct())
    expected = RedisFriendEvents(stores.graph()).friend_events([p.pk for p in subscribers], window)
    assert sum(len(found) for found in expected.values()) > 50  # the seed gives the calendars something to show
    assert any(len(found) > 2 * views.PAGE_SIZE for found in expected.values())  # some run to several pages
    for person in subscribers:
        client.cookies.clear()
        sign_in(client, person)
        wanted = {e: dict(people) for e, people in expected[person.pk].items()}
        # The calendar adds the person's own events (the digest tells of others only).
        for event_id, role in Attendance.objects.filter(
            person=person, role__in=["attending", "speaking"], event__end_date__gte=window.start,
            event__start_date__lte=window.end,
        ).values_list("event_id", "role"):
            wanted.setdefault(event_id, {})[person.pk] = role
        assert calendar_pages(client) == wanted


def test_filters_speaking_topic_month(client, alias):
    me = sign_in(client, make_person("me"))
    ada, bob = make_person("ada"), make_person("bob")
    Follow.objects.create(follower=me, followee=ada)
    Follow.objects.create(follower=me, followee=bob)
    python = Topic.objects.create(name="Python", slug="python")
    soon, later, past = make_event("soon", 3), make_event("later", 70), make_event("past", -3)
    soon.topics.add(python)
    go(ada, soon, "speaking")
    go(bob, soon)
    go(bob, later)
    go(ada, past, "speaking")

    assert calendar_pages(client) == {
        soon.pk: {ada.pk: "speaking", bob.pk: "attending"},
        later.pk: {bob.pk: "attending"},
    }
    assert calendar_pages(client, "speaking=1") == {soon.pk: {ada.pk: "speaking"}}
    assert calendar_pages(client, "topic=python") == {soon.pk: {ada.pk: "speaking", bob.pk: "attending"}}
    assert (
        calendar_pages(client, f"month={days(70):%Y-%m}") == {later.pk: {bob.pk: "attending"}}
        or days(3).month == days(70).month
    )
    # Filters that mean nothing are named as not applied, never an error.
    response = client.get("/calendar/?topic=nope&month=2027-13&page=zz")
    assert response.status_code == 200
    page = response.content.decode()
    assert "no topic &#x27;nope&#x27;" in page and "is not a month" in page
    assert {entry.event.pk for entry in response.context["entries"]} == {soon.pk, later.pk}


def test_your_own_talks_are_in_the_speaking_only_calendar(client, alias):
    me = sign_in(client, make_person("me"))
    ada = make_person("ada")
    Follow.objects.create(follower=me, followee=ada)
    mine, theirs = make_event("mine", 4), make_event("theirs", 6)
    go(me, mine, "speaking")
    go(ada, mine)
    go(ada, theirs)
    assert calendar_pages(client) == {mine.pk: {me.pk: "speaking", ada.pk: "attending"},
                                      theirs.pk: {ada.pk: "attending"}}
    assert calendar_pages(client, "speaking=1") == {mine.pk: {me.pk: "speaking"}}


def test_an_attend_click_is_in_the_next_digest_and_the_calendar(client, alias):
    me, ada = make_person("me"), make_person("ada")
    subscription = Subscription.objects.create(person=me, email="me@example.com", list="daily")
    Follow.objects.create(follower=me, followee=ada)
    conf = make_event("conf", 5, cfp_deadline=days(2))  # an open call: "I'm speaking" may be said
    sign_in(client, ada)
    response = client.post(f"/events/{conf.slug}/attendance/", {"role": "speaking"})
    assert response.status_code == 302

    pipeline = Pipeline(django_settings.LANYARD, engine=stores.engine(alias), redis=stores.redis())
    try:
        with pipeline.engine.connect() as connection:
            rows = subscriptions_by_id(connection, [subscription.pk])
        (prepared,) = pipeline.prepare(rows, digest_date=timezone.localdate())
    finally:
        pipeline.close()
    (item,) = prepared.digest.new_items
    assert item.event.id == conf.pk and [p.id for p in item.speakers] == [ada.pk]

    client.cookies.clear()
    sign_in(client, me)
    assert calendar_pages(client) == {conf.pk: {ada.pk: "speaking"}}


def test_the_calendar_shows_each_change_to_the_graph_on_the_next_request(client, alias):
    """The calendar keeps the followed people's event sets between requests (the graph's
    change log says which changed): every change still shows at once."""
    me = sign_in(client, make_person("me"))
    ada, bob = make_person("ada"), make_person("bob")
    Follow.objects.create(follower=me, followee=ada)
    soon, later = make_event("soon", 3), make_event("later", 9)
    go(ada, soon)
    assert calendar_pages(client) == {soon.pk: {ada.pk: "attending"}}

    talk = go(ada, later, "speaking")
    assert calendar_pages(client) == {soon.pk: {ada.pk: "attending"}, later.pk: {ada.pk: "speaking"}}
    talk.role = "attending"
    talk.save()
    go(bob, soon)
    assert calendar_pages(client)[later.pk] == {ada.pk: "attending"}
    follow = Follow.objects.create(follower=me, followee=bob)
    assert calendar_pages(client)[soon.pk] == {ada.pk: "attending", bob.pk: "attending"}
    follow.delete()
    later.delete()
    assert calendar_pages(client) == {soon.pk: {ada.pk: "attending"}}


def test_the_calendar_needs_a_sign_in(client, alias):
    response = client.get("/calendar/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/calendar/"


def test_the_calendar_answers_from_the_database_when_the_graph_is_away(client, alias, redis_client):
    me = sign_in(client, make_person("me"))
    ada, grace = make_person("ada"), make_person("grace")
    conf, meetup, tracked = make_event("conf", 5), make_event("meetup", 9), make_event("tracked", 7)
    go(ada, conf, "speaking"), go(grace, conf), go(grace, meetup), go(ada, tracked, "tracking")
    Follow.objects.create(follower=me, followee=ada), Follow.objects.create(follower=me, followee=grace)
    with_graph = calendar_pages(client)
    redis_client.delete(stores.graph().live_key)  # no live generation: not built yet, or lost
    assert calendar_pages(client) == with_graph == {
        conf.pk: {ada.pk: "speaking", grace.pk: "attending"}, meetup.pk: {grace.pk: "attending"},
    }
    assert "Part of lanyard is unavailable right now" in client.get("/calendar/").content.decode()
    token = TokenSigner(django_settings.LANYARD.secret_keys).sign_feed(FeedRef(me.pk, 1))
    feed = client.get(f"/calendar/{token}.ics")
    assert feed.status_code == 200 and feed.content.decode().count("BEGIN:VEVENT") == 2


def test_a_row_names_the_first_followed_people_and_counts_the_rest(client, alias):
    from lanyard_site.personal.selectors import CALENDAR_NAMES_SHOWN

    me = sign_in(client, make_person("me"))
    conf, meetup = make_event("conf", 5), make_event("meetup", 9)
    crowd = [make_person(f"p{n:02d}", name=f"Person {n:02d}") for n in range(CALENDAR_NAMES_SHOWN + 3)]
    for person in crowd:
        Follow.objects.create(follower=me, followee=person)
        go(person, conf, "speaking" if person is crowd[-1] else "attending")
    for person in crowd[:CALENDAR_NAMES_SHOWN + 1]:
        go(person, meetup)
    page = client.get("/calendar/").content.decode()
    conf_row = page[page.index('href="/events/conf/"'):page.index('href="/events/meetup/"')]
    named = sorted((p for p in crowd if f">{p.name}</a>" in conf_row), key=lambda p: conf_row.index(f">{p.name}</a>"))
    assert named == [crowd[-1], *crowd[:CALENDAR_NAMES_SHOWN - 1]]  # the speaker first, then by name
    assert '<a class="muted" href="/events/conf/">and 3 more you follow</a>' in conf_row
    meetup_row = page[page.index('href="/events/meetup/"'):]
    assert all(f">{p.name}</a>" in meetup_row for p in crowd[:CALENDAR_NAMES_SHOWN + 1])  # never "and 1 more"
    assert "more you follow" not in meetup_row
    feed = client.get(client.get("/calendar/").context["feed_url"].split("testserver", 1)[-1])
    assert feed.status_code == 200
    unfolded = feed.content.decode().replace("\r\n ", "")  # RFC 5545 folds lines at 75 octets
    assert all(p.name in unfolded for p in crowd)  # the feed still names them all
