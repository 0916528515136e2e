"""/topics/ and a topic's page (events/selectors/topics.py)."""

from __future__ import annotations

import pytest

from lanyard_site.events.models import Event, Topic
from tests.site.pages import alias, data, days, event, go, person, text  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])



def test_topics_and_a_topic_page(client, data):
    Topic.objects.create(name="Rust")
    data["past"].topics.add(data["python"])
    data["later"].topics.add(data["python"])
    Event.objects.filter(pk=data["later"].pk).update(cfp_deadline=days(20))
    page = text(client.get("/topics/"))
    assert "/topics/python/" in page and "/topics/rust/" in page and "2 upcoming" in page
    topic = text(client.get("/topics/python/"))
    upcoming, rest = topic.split("<h2>Recent</h2>")
    recent, side = rest.split("<h2>Calls for speakers</h2>")
    assert "/events/pycon/" in upcoming and "/events/later/" in upcoming and "/events/past/" not in upcoming
    assert "/events/past/" in recent
    calls, slides = side.split("<h2>Slides and videos</h2>")
    assert "/events/later/" in calls and "/events/pycon/" not in calls
    assert "Parser slides" in slides and "Pycon videos" in slides
