"""The site tests' catalogue: each test on SQLite and PostgreSQL (``alias``), a small
catalogue (``data``), helpers making events, people and attendance, and reading a page."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from django.utils import timezone

from lanyard_site import stores
from lanyard_site.events.models import Attendance, Coverage, Event, Person, Session, Topic
from tests.site.personal.conftest import empty_live_graph


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
