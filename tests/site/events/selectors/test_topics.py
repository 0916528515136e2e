"""/topics/ and a topic's page (events/selectors/topics.py)."""

from __future__ import annotations

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from lanyard_site.events.models import Coverage, Event, Topic
from tests.site.pages import alias, data, days, event, go, person, signed_in, text  # noqa: F401  (fixtures)

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
    assert f"speak by {days(20):%-d %b}" in calls  # the deadline, as the row's note


def _topic_page(client, alias) -> tuple[str, int]:
    with CaptureQueriesContext(connections[alias]) as captured:
        page = text(client.get("/topics/python/"))
    return page, len(captured)


def test_a_topic_page_keeps_which_events_it_lists_and_reads_them_fresh(client, alias, data):
    """Which events (and coverage) a topic page lists is kept per process: a page seen before
    reads the topic, its events by id and its coverage by id; an event renamed shows at once,
    and one given or losing the topic too (that touches the topic)."""
    _topic_page(client, alias)
    page, queries = _topic_page(client, alias)
    assert queries == 3 and "/events/pycon/" in page and "/events/later/" not in page
    Event.objects.filter(pk=data["pycon"].pk).update(name="Snakecon")
    data["pycon"].touch()
    data["later"].topics.add(data["python"])
    page, queries = _topic_page(client, alias)
    assert ">Snakecon</a>" in page and "/events/later/" in page and queries > 3
    data["python"].events.remove(data["pycon"])
    page, _ = _topic_page(client, alias)
    assert "/events/pycon/" not in page.split("<h2>Calls for speakers</h2>")[0] and "/events/later/" in page


def test_a_link_refused_after_the_topic_page_kept_it_is_not_shown(client, alias, data):
    assert "Parser slides" in _topic_page(client, alias)[0]
    Coverage.objects.filter(title="Parser slides").update(status="refused")
    page, queries = _topic_page(client, alias)
    assert "Parser slides" not in page and "Pycon videos" in page and queries == 3


def test_the_author_of_a_refused_link_sees_it_on_a_topic_page_others_do_not(client, alias, data):
    """Signed-in visitors share the kept coverage too, but for the author of a refused link."""
    Coverage.objects.create(event=data["pycon"], title="Private notes", url="http://10.1.2.3/notes",
                            status="refused", added_by=data["ada"])
    signed_in(client, data["bob"])
    _topic_page(client, alias)
    page = _topic_page(client, alias)[0]
    assert "Private notes" not in page and "Parser slides" in page
    client.logout()
    signed_in(client, data["ada"])
    assert "Private notes" in _topic_page(client, alias)[0]


@pytest.mark.parametrize("counted", [5, 1])
def test_a_topic_page_counts_its_upcoming_events_from_their_ids_or_by_a_query(
    client, alias, data, monkeypatch, counted
):
    """Up to COUNTED upcoming events are counted from the ids read anyway (one query
    fewer); more are counted by a query. Both say how many there are."""
    from django.core.cache import cache

    from lanyard_site.events.selectors import topics

    monkeypatch.setattr(topics, "HOME_LIST", 1)
    monkeypatch.setattr(topics, "COUNTED", counted)
    data["later"].topics.add(data["python"])
    event("third", 40).topics.add(data["python"])
    cache.clear()
    with CaptureQueriesContext(connections[alias]) as captured:
        page = text(client.get("/topics/python/"))
    assert "All 3 upcoming Python events" in page
    counts = [q["sql"] for q in captured.captured_queries if "COUNT(*)" in q["sql"]]
    assert len(counts) == (0 if counted >= 3 else 1)
