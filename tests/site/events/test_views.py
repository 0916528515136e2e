"""Every browsing page (events/views.py, events/urls.py), each on SQLite and PostgreSQL: the
site's layout on errors, robots.txt, the CSP, and query counts that do not grow with the rows."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connections
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from lanyard_site.events.models import Coverage, Event, Person, Session, Topic
from tests.site.pages import alias, data, days, event, go, person, text  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])



MAX_QUERIES = 12


def queries(client, url, alias):
    """(response, number of SQL queries) of one request."""
    with CaptureQueriesContext(connections[alias]) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return response, len(captured)


def test_404_is_in_the_sites_layout(client, data):
    for url in [
        "/events/nope/",
        "/talks/999999/",
        "/people/nobody/",
        "/topics/nothing/",
        "/no/such/page/",
        "/events/nope/attendees/",
        "/talks/99999999999999999999999/",
    ]:
        response = client.get(url)
        assert response.status_code == 404, url
        page = response.content.decode()
        assert "There is no page here" in page and "site.css" in page, url


def test_500_is_in_the_sites_layout(client, data):
    client.raise_request_exception = False
    with override_settings(ROOT_URLCONF="tests.site.error_urls"):
        response = client.get("/boom/")
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode() and "site.css" in response.content.decode()


def test_robots_and_favicon(client, alias):
    robots = client.get("/robots.txt")
    assert robots.status_code == 200 and "Disallow: /admin/" in robots.content.decode()
    icon = client.get("/favicon.ico")
    assert (
        icon.status_code == 200 and icon["Content-Type"] == "image/x-icon" and icon.content[:4] == b"\x00\x00\x01\x00"
    )


def test_every_page_sends_a_strict_csp(client, data):
    policy = client.get("/")["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    for url in ["/events/", "/events/pycon/", "/search/?q=x", "/nope/"]:
        assert client.get(url)["Content-Security-Policy"] == policy, url


def _bulk_catalogue(n: int) -> None:
    """n events on one topic, each with n talks, speakers, attendees and coverage."""
    topic = Topic.objects.get_or_create(name="Python", slug="python")[0]
    people = [Person.objects.create(name=f"Bulk {n} {i}") for i in range(n)]
    for e in range(n):
        conf = event(f"bulk-{n}-{e}", 2 + e, city=f"City {e}", country="Chile")
        conf.topics.add(topic)
        for i, who in enumerate(people):
            go(who, conf, "speaking" if i % 2 else "attending")
            talk = Session.objects.create(event=conf, title=f"Talk {n} {e} {i}", starts_at=None)
            talk.speakers.add(who)
            Coverage.objects.create(session=talk, kind="slides", title=f"Slides {i}", url="https://s.example/")
            Coverage.objects.create(event=conf, kind="writeup", title=f"Writeup {i}", url="https://w.example/")


PAGES = [
    "/",
    "/events/",
    "/events/?topic=python&city=City+0",
    "/events/{event}/",
    "/events/{event}/attendees/",
    "/events/{event}/speakers/",
    "/talks/{talk}/",
    "/people/{person}/",
    "/people/",
    "/topics/",
    "/topics/python/",
    "/coverage/",
    "/coverage/?topic=python&person={person}",
    "/search/?q=bulk",
]


def _page_queries(client, alias, n, indexed):
    _bulk_catalogue(n)
    indexed()
    conf = Event.objects.get(slug=f"bulk-{n}-0")
    values = {
        "event": conf.slug,
        "talk": conf.sessions.first().pk,
        "person": Person.objects.filter(name=f"Bulk {n} 1").get().handle,
    }
    counts = {}
    for url in PAGES:
        cache.clear()  # every page measured cold: its cached lists are read too
        counts[url] = queries(client, url.format(**values), alias)[1]
    return counts


def test_query_counts_are_bounded_and_do_not_grow_with_rows(client, alias, indexed):
    few = _page_queries(client, alias, 4, indexed)
    many = _page_queries(client, alias, 8, indexed)
    for url in PAGES:
        assert many[url] <= MAX_QUERIES, (url, many[url])
        assert many[url] == few[url], (url, few[url], many[url])
