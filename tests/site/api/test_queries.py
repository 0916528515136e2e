"""Every list of the API reads a page with a fixed number of queries, whatever its size
(Django's CaptureQueriesContext, on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from lanyard_site.events.models import Coverage, Follow, Session, Topic
from lanyard_site.mailing.models import Subscription
from tests.site.personal.conftest import account, go, make_event, make_person

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])
LISTS = ["/api/v1/events", "/api/v1/talks", "/api/v1/people", "/api/v1/topics", "/api/v1/coverage",
         "/api/v1/me/calendar", "/api/v1/me/follows", "/api/v1/me/subscriptions"]
DETAILS = ["/api/v1/events/conf-00", "/api/v1/people/speaker-00", "/api/v1/topics/topic-0"]


@pytest.fixture
def many(alias):
    """60 of everything a list shows, each row with its related rows (topics, speakers)."""
    me = make_person("me")
    topics = [Topic.objects.create(name=f"Topic {n}", slug=f"topic-{n}") for n in range(60)]
    for n in range(60):
        event = make_event(f"conf-{n:02d}", 3 + n)
        event.topics.add(topics[n], topics[(n + 1) % 60])
        speaker = make_person(f"speaker-{n:02d}")
        talk = Session.objects.create(event=event, title=f"Talk {n}")
        talk.speakers.add(speaker)
        go(speaker, event, "speaking")
        go(make_person(f"guest-{n:02d}"), event)
        Coverage.objects.create(session=talk, kind="slides", title=f"Slides {n}", url=f"https://s.example/{n}")
        Follow.objects.create(follower=me, followee=speaker)
    for n in range(2):
        Subscription.objects.create(person=me, email=f"me{n}@example.com", list=["daily", "weekly"][n])
    return me


def count(client: Client, url: str, alias: str) -> int:
    client.get(url, {"limit": 1})  # warm the per-process caches (filter choices, topic counts)
    caches["rows"].clear()  # each list measured with no event's topics kept: the most it reads
    with CaptureQueriesContext(connections[alias]) as queries:
        response = client.get(url, {"limit": 50} if url in LISTS else {})
        assert response.status_code == 200, response.content[:300]
    small = len(queries)
    caches["rows"].clear()
    with CaptureQueriesContext(connections[alias]) as queries:
        assert client.get(url, {"limit": 3} if url in LISTS else {}).status_code == 200
    assert len(queries) == small, (url, small, len(queries))
    return small


def test_query_counts_do_not_grow_with_page_size(many, alias):
    client = Client(HTTP_ACCEPT="application/json")
    client.force_login(account(many))
    counts = {url: count(client, url, alias) for url in LISTS}
    assert not {url: n for url, n in counts.items() if n > 8}, counts  # the lists reading more than 8
    assert len(client.get("/api/v1/events", {"limit": 50}).json()["items"]) == 50


def test_detail_query_counts_do_not_grow_with_the_rows_shown(many, alias):
    client = Client(HTTP_ACCEPT="application/json")
    for url in DETAILS:
        with CaptureQueriesContext(connections[alias]) as queries:
            assert client.get(url).status_code == 200
        assert len(queries) <= 14, (url, [q["sql"][:120] for q in queries.captured_queries])


def test_a_talk_seen_before_reads_the_talk_and_its_coverage_alone(many, alias):
    """The talk's speakers and its event's topics are kept per process under their
    cache_version (rows.py): a speaker renamed shows at once (the rename touches the talk)."""
    client = Client(HTTP_ACCEPT="application/json")
    talk = Session.objects.get(title="Talk 0")
    assert client.get(f"/api/v1/talks/{talk.pk}").status_code == 200
    with CaptureQueriesContext(connections[alias]) as queries:
        body = client.get(f"/api/v1/talks/{talk.pk}").json()
    assert len(queries) == 2 and [p["handle"] for p in body["speakers"]] == ["speaker-00"]
    speaker = talk.speakers.get()
    speaker.name = "Grace Renamed"
    speaker.save()
    assert [p["name"] for p in client.get(f"/api/v1/talks/{talk.pk}").json()["speakers"]] == ["Grace Renamed"]
