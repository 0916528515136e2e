"""events/selectors/rows.py: a page of event rows reads topics only for rows the per-process
"rows" cache lacks, its keys being the template's own; the API's events and talks keep their
topics and speakers there until the row changes (on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.db import connections
from django.test.utils import CaptureQueriesContext

from lanyard_site.events.models import Event, Person, Session, Topic
from lanyard_site.events.selectors.rows import (
    ROWS_CACHE,
    SpeakerName,
    TopicName,
    event_topics,
    row_key,
    talk_speakers,
    with_row_topics,
)
from tests.site.personal.conftest import alias, make_event  # noqa: F401 -- fixtures and factories

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])


def _events(n: int) -> list[Event]:
    topic = Topic.objects.create(name="Rust", slug="rust")
    for i in range(n):
        make_event(f"rows-{i}", 5 + i).topics.add(topic)
    return list(Event.objects.filter(slug__startswith="rows-").order_by("start_date"))


def test_topics_are_read_for_uncached_rows_only(client, alias):
    caches[ROWS_CACHE].clear()
    events = _events(6)
    with CaptureQueriesContext(connections[alias]) as cold:
        rows = with_row_topics(events)
    assert len(cold) == 1 and [t.slug for t in rows[0].topics.all()] == ["rust"]
    page = client.get("/events/").content.decode()  # renders (and caches) every row
    assert page.count('href="/topics/rust/"') == 6
    fresh = list(Event.objects.filter(slug__startswith="rows-"))
    assert all(caches[ROWS_CACHE].has_key(row_key(e, show_topics=True)) for e in fresh)
    with CaptureQueriesContext(connections[alias]) as warm:
        with_row_topics(fresh)
    assert len(warm) == 0


def test_a_changed_event_reads_its_topics_again(client, alias):
    caches[ROWS_CACHE].clear()
    _events(3)
    client.get("/events/")
    Event.objects.filter(slug="rows-1").touch()  # a new cache_version: its row is not cached
    fresh = list(Event.objects.filter(slug__startswith="rows-"))
    with CaptureQueriesContext(connections[alias]) as queries:
        with_row_topics(fresh)
    assert len(queries) == 1
    page = client.get("/events/").content.decode()
    assert page.count('href="/topics/rust/"') == 3


def test_topics_and_speakers_are_kept_until_their_row_changes(alias):
    caches[ROWS_CACHE].clear()
    events = _events(3)
    ada = Person.objects.create(name="Ada", handle="ada")
    talks = [Session.objects.create(event=e, title=f"Talk {e.pk}") for e in events]
    for talk in talks:
        talk.speakers.add(ada)
    talks = list(Session.objects.filter(pk__in=[t.pk for t in talks]))  # their versions after the add
    with CaptureQueriesContext(connections[alias]) as cold:
        assert event_topics(events)[events[0].pk] == [TopicName("rust", "Rust")]
        assert talk_speakers(talks)[talks[0].pk] == [SpeakerName("ada", "Ada")]
    assert len(cold) == 2
    with CaptureQueriesContext(connections[alias]) as warm:
        event_topics(events), talk_speakers(talks)
    assert len(warm) == 0
    ada.name = "Ada Lovelace"
    ada.save()  # touches her talks (personal/cascades.py)
    talks = list(Session.objects.filter(pk__in=[t.pk for t in talks]))
    assert talk_speakers(talks)[talks[1].pk] == [SpeakerName("ada", "Ada Lovelace")]
