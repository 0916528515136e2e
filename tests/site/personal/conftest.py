"""Fixtures of the signed-in pages' tests: each test runs on SQLite and on PostgreSQL
(every query of the views routed to one of them), with the Redis graph live and empty,
so the site's writes fill it as they commit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from django.utils import timezone

from digest.stores.keys import RedisKeys
from lanyard_site import stores
from lanyard_site.events.models import Attendance, Event, Person
from lanyard_site.personal import selectors

PASSWORD = "correct horse battery staple"


class OneDatabase:
    def __init__(self, alias: str):
        self.alias = alias

    def db_for_read(self, model, **hints):
        return self.alias

    db_for_write = db_for_read


def empty_live_graph(redis_client) -> None:
    """A live, whole (built) and empty graph generation, which the site's writes then fill."""
    keys = RedisKeys(stores.graph().prefix)
    redis_client.mset({keys.graph_live: 1, keys.graph(1).built: 1})


@pytest.fixture(params=["default", "postgresql"])
def alias(request, redis_client):
    empty_live_graph(redis_client)
    selectors.friend_strategy_forget()
    with override_settings(DATABASE_ROUTERS=[OneDatabase(request.param)]):
        yield request.param
    stores.engine(request.param).dispose()


def days(n: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=n)


def make_event(slug: str, start: int, **fields) -> Event:
    return Event.objects.create(name=slug.title(), slug=slug, start_date=days(start), end_date=days(start), **fields)


def make_person(handle: str, **fields) -> Person:
    return Person.objects.create(name=fields.pop("name", handle.title()), handle=handle, **fields)


def go(who: Person, where: Event, role: str = "attending") -> Attendance:
    return Attendance.objects.create(person=who, event=where, role=role)


def account(person: Person, *, email: str = "") -> User:
    user = User.objects.create_user(
        username=person.handle, password=PASSWORD, email=email or f"{person.handle}@example.com"
    )
    person.user = user
    person.save()
    return user


def sign_in(client, person: Person) -> Person:
    """A real sign-in through the login form, which sets the signed cookie."""
    if person.user_id is None:
        account(person)
    response = client.post("/accounts/login/", {"username": person.user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return person
