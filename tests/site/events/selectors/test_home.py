"""The home page (events/selectors/home.py): on today, soon, the biggest upcoming."""

from __future__ import annotations

import pytest

from tests.site.pages import alias, data, days, event, go, person, text  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])



def test_home_today_soon_and_biggest(client, data):
    today = event("today-conf", 0, city="Oslo")
    big = event("big-conf", 50)  # past 30 days, but the biggest
    for n in range(3):
        go(person(f"fan{n}"), big)
    page = text(client.get("/"))
    on_today, rest = page.split("The next 30 days")
    soon, biggest = rest.split("Biggest upcoming")
    assert "/events/today-conf/" in on_today
    assert "/events/pycon/" in soon and "/events/later/" not in soon and "/events/past/" not in soon
    assert biggest.index("/events/big-conf/") < biggest.index("/events/pycon/") and "3 going" in biggest
    assert 'action="/search/"' in page and "Python" in page  # the search box; topics on rows
    assert today.slug in page


def test_a_home_page_seen_before_reads_no_topics_and_a_new_topic_shows(client, data, alias):
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    from lanyard_site.events.models import Event, Topic

    text(client.get("/"))  # this process keeps the rows
    with CaptureQueriesContext(connections[alias]) as queries:
        text(client.get("/"))
    assert not [q["sql"] for q in queries.captured_queries if '"topic"' in q["sql"]]
    rust = Topic.objects.create(name="Rust", slug="rust")
    Event.objects.get(slug="pycon").topics.add(rust)  # touches the event: its row is made again
    assert '<a class="tag" href="/topics/rust/">Rust</a>' in text(client.get("/"))
