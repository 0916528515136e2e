"""The API with its Redis away (a Redis server of the test's own, stopped): answers come from
the database, with an ETag (no Last-Modified: its memory is in Redis), rate limits are not
counted (and say nothing), the calendar reads follows with SQL. Never a 500."""

from __future__ import annotations

import pytest
from django.test import Client

from lanyard_site.events.models import Follow, Person
from tests.site.api.test_me import bearer, make_token
from tests.site.ops.test_degraded import own_redis, site_stores  # noqa: F401 -- the fixture
from tests.site.pages import alias  # noqa: F401 -- the fixture: SQLite and PostgreSQL
from tests.site.personal.conftest import go, make_event, make_person

pytestmark = [pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])]


def test_redis_away_the_api_answers_from_the_database(alias, own_redis, tmp_path):
    with site_stores(redis={"url": own_redis.url(), "prefix": "api-away:"},
                     search={"url": f"tantivy://{tmp_path / 's'}"}):
        ada, bob = make_person("ada"), make_person("bob")
        go(ada, make_event("pycon", 5), "speaking")
        Follow.objects.create(follower=bob, followee=ada)
        token = make_token(Client(), Person.objects.get(handle="bob"))
        api = Client(HTTP_ACCEPT="application/json")
        assert api.get("/api/v1/events")["RateLimit-Limit"]  # counted while Redis is there
        own_redis.stop()
        events = api.get("/api/v1/events")
        assert events.status_code == 200 and events.json()["items"][0]["slug"] == "pycon"
        assert events["ETag"] and not events.has_header("Last-Modified") and not events.has_header("RateLimit-Limit")
        assert api.get("/api/v1/events", HTTP_IF_NONE_MATCH=events["ETag"]).status_code == 304
        calendar = api.get("/api/v1/me/calendar", **bearer(token))
        assert calendar.status_code == 200 and calendar.json()["items"][0]["event"]["slug"] == "pycon"
        assert api.get("/api/v1/people/ada").status_code == 200
