"""Fixtures of the API's in-process tests: Django's test client on SQLite and on PostgreSQL
(``alias``, every query routed to one), the Redis graph live and empty, so follows reach it."""

from __future__ import annotations

import pytest
from django.test import Client

from lanyard_site.events.models import Coverage, Follow, Session, Topic
from tests.site.personal.conftest import alias, go, make_event, make_person  # noqa: F401 -- fixtures and factories


@pytest.fixture
def catalogue(alias):
    """Two people, a topic, three events (one past), a talk with coverage, a follow."""
    ada, bob = make_person("ada", bio="Writes compilers."), make_person("bob")
    python = Topic.objects.create(name="Python", slug="python")
    pycon = make_event("pycon", 10, city="Lyon", country="France", description="Talks about Python.")
    pycon.topics.add(python)
    later = make_event("later", 60, city="Oslo", country="Norway")
    past = make_event("past", -20)
    talk = Session.objects.create(event=pycon, title="Fast parsers", abstract="How to parse fast.")
    talk.speakers.add(ada)
    Coverage.objects.create(session=talk, kind="slides", title="Parser slides", url="https://slides.example/p")
    go(ada, pycon, "speaking")
    go(bob, pycon)
    go(ada, past)
    Follow.objects.create(follower=bob, followee=ada)
    return {"ada": ada, "bob": bob, "python": python, "pycon": pycon, "later": later, "past": past, "talk": talk}


@pytest.fixture
def api():
    """A test client asking for JSON, as programs do."""
    return Client(HTTP_ACCEPT="application/json")


def problem(response, status: int) -> dict:
    """The response's problem details (RFC 9457), checked for shape."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"] == "about:blank"
    return body
