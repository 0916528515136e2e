"""Site writes reach the search index after commit, through the pending set; a rollback
leaves both untouched; the indexing task is sent once per transaction, and a broker that
is down costs the request nothing."""

from __future__ import annotations

import datetime as dt
import logging
import time

import pytest
from django.conf import settings
from django.db import connections, transaction
from django.test import override_settings
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from digest.config import parse_database_url
from digest.search import TextQuery
from digest.search.sync import check, index_pending
from digest.search.tantivy_index import TantivyIndex
from digest.stores.db import make_engine
from digest.stores.keys import RedisKeys
from lanyard_site.events import search_signals
from lanyard_site.events.models import Attendance, Coverage, Event, Person, Session, Topic
from tests.changed_settings import changed

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])

DAY = dt.date(2027, 3, 1)
KEYS = RedisKeys(settings.LANYARD.redis.prefix)


@pytest.fixture(params=["default", "postgresql"])
def alias(request):
    return request.param


@pytest.fixture
def sql_engine(alias):
    """An SQLAlchemy engine on the Django test database of ``alias``, as a worker has."""
    connection = connections[alias]
    connection.ensure_connection()
    if connection.vendor == "sqlite":  # a file (tests/django_settings.py), or Django's shared in-memory database
        name = connection.settings_dict["NAME"]
        uri = "&uri=true" if connection.is_in_memory_db() else ""
        engine = create_engine(f"sqlite:///{name}{uri}", poolclass=NullPool)
    else:
        d = connection.settings_dict
        engine = make_engine(
            parse_database_url(f"postgresql://{d['USER']}@{d['HOST']}:{d['PORT'] or 5432}/{d['NAME']}")
        )
    yield engine
    engine.dispose()


@pytest.fixture
def index(tmp_path):
    found = TantivyIndex(tmp_path / "search")
    yield found
    found.close()


def pending(redis_client) -> set[str]:
    return {m.decode() for m in redis_client.smembers(KEYS.search_pending)}


def drain(index, sql_engine, redis_client):
    return index_pending(index, sql_engine, redis_client, KEYS)


def found(index, text="", **filters) -> dict[str, str]:
    return {h.id: h.title for h in index.search(TextQuery(text, today=DAY, limit=100, **filters)).hits}


def test_a_committed_transaction_is_indexed(alias, sql_engine, redis_client, index):
    with transaction.atomic(using=alias):
        ada = Person.objects.using(alias).create(name="Ada Lovelace", handle="ada")
        bob = Person.objects.using(alias).create(name="Bob Builder", handle="bob")
        python = Topic.objects.using(alias).create(name="Python", slug="python")
        conf = Event.objects.using(alias).create(
            name="PyCon Lisbon", slug="pycon", start_date=DAY, end_date=DAY, city="Lisbon"
        )
        conf.topics.add(python)
        Attendance.objects.using(alias).create(person=ada, event=conf, role="speaking")
        Attendance.objects.using(alias).create(person=bob, event=conf, role="attending")
        talk = Session.objects.using(alias).create(event=conf, title="Search at scale")
        talk.speakers.add(ada)
        video = Coverage.objects.using(alias).create(session=talk, kind="video", title="Video of the talk", url="https://v.example/1")
        assert pending(redis_client) == set()  # nothing before the commit
    assert pending(redis_client) == {
        f"person:{ada.pk}", f"person:{bob.pk}", f"event:{conf.pk}", f"session:{talk.pk}", f"coverage:{video.pk}",
    }

    stats = drain(index, sql_engine, redis_client)
    assert stats.indexed == 5 and pending(redis_client) == set()
    assert found(index, "python") == {f"event:{conf.pk}": "PyCon Lisbon"}
    (hit,) = index.events_with_people([ada.pk], DAY, DAY, with_people=True).hits
    assert (hit.id, hit.speaker_ids, hit.attendee_ids) == (conf.pk, {ada.pk}, {bob.pk})
    assert found(index, "talk", types=("coverage",)) == {f"coverage:{video.pk}": "Video of the talk"}
    assert index.search(TextQuery("", types=("event",), topic="Python", today=DAY)).total == 1


def test_a_rolled_back_transaction_leaves_the_index_untouched(alias, sql_engine, redis_client, index):
    ada = Person.objects.using(alias).create(name="Ada Lovelace", handle="ada")
    drain(index, sql_engine, redis_client)
    before = dict(index.fingerprints())

    with pytest.raises(RuntimeError), transaction.atomic(using=alias):
        ada.name = "Ada King"
        ada.save(using=alias)
        Person.objects.using(alias).create(name="Never Was", handle="never")
        raise RuntimeError("the request failed")
    assert pending(redis_client) == set()
    assert drain(index, sql_engine, redis_client).indexed == 0
    assert dict(index.fingerprints()) == before
    assert found(index) == {f"person:{ada.pk}": "Ada Lovelace"}

    # A savepoint rolled back inside a committed transaction: only the committed rows count.
    with transaction.atomic(using=alias):
        Person.objects.using(alias).create(name="Carol Kept", handle="carol")
        try:
            with transaction.atomic(using=alias):
                Person.objects.using(alias).create(name="Dan Dropped", handle="dan")
                raise RuntimeError
        except RuntimeError:
            pass
    drain(index, sql_engine, redis_client)
    assert set(found(index).values()) == {"Ada Lovelace", "Carol Kept"}


def test_updates_and_deletes_reach_the_index(alias, sql_engine, redis_client, index):
    ada = Person.objects.using(alias).create(name="Ada Lovelace", handle="ada")
    topic = Topic.objects.using(alias).create(name="Python", slug="python")
    conf = Event.objects.using(alias).create(name="PyCon", slug="pycon", start_date=DAY, end_date=DAY)
    conf.topics.add(topic)
    talk = Session.objects.using(alias).create(event=conf, title="Talk")
    talk.speakers.add(ada)
    Attendance.objects.using(alias).create(person=ada, event=conf, role="attending")
    drain(index, sql_engine, redis_client)

    topic.name = "Python 3"
    topic.save(using=alias)  # events carry their topics' names
    ada.name = "Ada King"
    ada.save(using=alias)
    drain(index, sql_engine, redis_client)
    assert index.search(TextQuery("", topic="Python 3", today=DAY)).total == 1
    assert found(index, "king") == {f"person:{ada.pk}": "Ada King"}

    assert check(index, sql_engine).clean  # every document as the database has it now

    ada.sessions.clear()  # the reverse side of session speakers
    assert pending(redis_client) == {f"session:{talk.pk}"}
    drain(index, sql_engine, redis_client)
    assert check(index, sql_engine).clean

    conf_id, talk_id = conf.pk, talk.pk
    conf.delete()  # cascades: its session and attendance go, each with its own signal
    assert {f"event:{conf_id}", f"session:{talk_id}"} <= pending(redis_client)
    drain(index, sql_engine, redis_client)
    assert found(index) == {f"person:{ada.pk}": "Ada King"}
    topic.delete()
    ada.delete()
    drain(index, sql_engine, redis_client)
    assert found(index) == {}
    assert check(index, sql_engine).clean


def test_one_task_per_transaction_and_a_dead_broker_costs_nothing(alias, redis_client, caplog):
    sent = search_signals.sender.sent
    with transaction.atomic(using=alias):
        for n in range(5):
            Person.objects.using(alias).create(name=f"P{n}", handle=f"p{n}")
    wait_for(lambda: search_signals.sender.sent > sent, "the task to be sent")
    time.sleep(0.3)
    assert search_signals.sender.sent == sent + 1
    assert len(pending(redis_client)) == 5

    dead = changed(settings.LANYARD, redis={"broker_url": "redis://127.0.0.1:9/0"})
    with override_settings(LANYARD=dead), caplog.at_level(logging.WARNING, logger=search_signals.__name__):
        with transaction.atomic(using=alias):
            carol = Person.objects.using(alias).create(name="Carol", handle="carol")
        assert f"person:{carol.pk}" in pending(redis_client)  # the durable record
        wait_for(lambda: "could not queue the search indexer" in caplog.text, "the warning")
    assert Person.objects.using(alias).filter(handle="carol").exists()


def wait_for(condition, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
