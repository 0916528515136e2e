"""The browsing pages, rendered by Django's test client on SQLite and PostgreSQL."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from django.utils import timezone

from digest.stores.keys import RedisKeys
from lanyard_site import stores
from lanyard_site.events.models import Attendance, Coverage, Event, Follow, Person, Session, Topic
from lanyard_site.mailing.models import Subscription, UnsubscribeEvent
from tests.site.personal.conftest import empty_live_graph

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])


class OneDatabase:
    """Routes every query (the views' included) to one database alias."""

    def __init__(self, alias):
        self.alias = alias

    def db_for_read(self, model, **hints):
        return self.alias

    db_for_write = db_for_read


@pytest.fixture(params=["default", "postgresql"])
def alias(request, redis_client):
    empty_live_graph(redis_client)
    with override_settings(DATABASE_ROUTERS=[OneDatabase(request.param)]):
        yield request.param
    stores.engine(request.param).dispose()  # lets the test database be dropped at the end


def days(n):
    return timezone.localdate() + dt.timedelta(days=n)


def event(slug, start, **fields):
    return Event.objects.create(name=slug.title(), slug=slug, start_date=days(start), end_date=days(start), **fields)


def person(handle, **fields):
    return Person.objects.create(name=handle.title(), handle=handle, **fields)


def go(who, where, role="attending"):
    return Attendance.objects.create(person=who, event=where, role=role)


@pytest.fixture
def data(alias):
    """A small catalogue: two people, three events, a talk with coverage."""
    ada, bob = person("ada", bio="Writes compilers."), person("bob")
    python = Topic.objects.create(name="Python", slug="python")
    pycon = event("pycon", 10, city="Lyon", country="France", venue="Centre", description="Talks about Python.",
                  url="https://pycon.example/")
    pycon.topics.add(python)
    later = event("later", 60)  # past the home page's 30 days
    past = event("past", -20)
    talk = Session.objects.create(event=pycon, title="Fast parsers", abstract="How to parse fast.")
    talk.speakers.add(ada)
    Coverage.objects.create(session=talk, kind="slides", title="Parser slides", url="https://slides.example/p")
    Coverage.objects.create(event=pycon, kind="video", title="Pycon videos", url="https://video.example/")
    go(ada, pycon, "speaking")
    go(bob, pycon)
    go(ada, past)
    return {"ada": ada, "bob": bob, "python": python, "pycon": pycon, "later": later, "past": past, "talk": talk}


def text(response):
    assert response.status_code == 200
    return response.content.decode()


def signed_in(client, who):
    user = User.objects.create_user(username=who.handle, password="pw")
    who.user = user
    who.save()
    client.force_login(user)
    return who


def test_calendar_shows_followed_peoples_events_only(client, data):
    me = signed_in(client, person("me"))
    carol = person("carol")
    Follow.objects.create(follower=me, followee=data["ada"])
    go(carol, data["later"], "speaking")  # not followed
    go(data["ada"], data["later"], "tracking")  # not going
    soon = event("soon", 2)
    go(data["ada"], soon)
    go(data["bob"], soon)  # going, but not followed
    page = text(client.get("/calendar/"))
    assert page.index("/events/soon/") < page.index("/events/pycon/")  # soonest first
    assert "Ada</a> (speaking)" in page and "/people/bob/" not in page
    assert "/events/later/" not in page and "/events/past/" not in page and "/people/carol/" not in page


def test_calendar_groups_followed_people_by_event(client, data):
    me = signed_in(client, person("me"))
    Follow.objects.create(follower=me, followee=data["ada"])
    Follow.objects.create(follower=me, followee=data["bob"])
    page = text(client.get("/calendar/"))
    assert page.count('href="/events/pycon/"') == 1 and "/people/ada/" in page and "/people/bob/" in page


def test_calendar_and_subscriptions_need_a_sign_in(client, alias):
    for url in ["/calendar/", "/subscriptions/"]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == f"/accounts/login/?next={url}"
    assert "Sign in" in text(client.get("/accounts/login/"))


@pytest.fixture
def subscriber(client, data):
    me = signed_in(client, data["ada"])
    return Subscription.objects.create(person=me, email="ada@example.com", list="daily")


def suppressed(subscription):
    keys = RedisKeys(stores.graph().prefix)
    return stores.redis().sismember(keys.unsubscribe_suppressed, subscription.pk)


def test_subscriptions_page_unsubscribes_and_resubscribes(client, subscriber):
    page = text(client.get("/subscriptions/"))
    assert "ada@example.com" in page and "daily digest" in page and "Unsubscribe" in page

    response = client.post(f"/subscriptions/{subscriber.pk}/unsubscribe/")
    assert response.status_code == 302 and response["Location"] == "/subscriptions/"
    subscriber.refresh_from_db()
    assert subscriber.status == "unsubscribed" and suppressed(subscriber)
    audit = UnsubscribeEvent.objects.get(subscription=subscriber)
    assert (audit.action, audit.via) == ("unsubscribe", "site")
    assert "Resubscribe" in text(client.get("/subscriptions/"))

    client.post(f"/subscriptions/{subscriber.pk}/resubscribe/")
    subscriber.refresh_from_db()
    assert subscriber.status == "active" and not suppressed(subscriber)
    assert [(e.action, e.via) for e in UnsubscribeEvent.objects.filter(subscription=subscriber).order_by("pk")] == [
        ("unsubscribe", "site"), ("resubscribe", "site"),
    ]


def test_subscription_changes_need_a_post_with_csrf(subscriber):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(subscriber.person.user)
    assert strict.get(f"/subscriptions/{subscriber.pk}/unsubscribe/").status_code == 405
    assert strict.post(f"/subscriptions/{subscriber.pk}/unsubscribe/").status_code == 403
    subscriber.refresh_from_db()
    assert subscriber.status == "active" and not suppressed(subscriber)
    assert not UnsubscribeEvent.objects.exists()


def test_another_persons_subscription_is_404(client, subscriber, data):
    theirs = Subscription.objects.create(person=data["bob"], email="bob@example.com")
    assert "bob@example.com" not in text(client.get("/subscriptions/"))
    assert client.post(f"/subscriptions/{theirs.pk}/unsubscribe/").status_code == 404
    assert client.post(f"/subscriptions/{subscriber.pk}/delete/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "active" and not suppressed(theirs)
