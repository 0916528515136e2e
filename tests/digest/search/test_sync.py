"""Keeping the index in step: the pending set, the batched indexer, rebuild and check,
on SQLite and PostgreSQL with the Redis server and a real tantivy index."""

from __future__ import annotations

import datetime as dt

import pytest
import tantivy
from sqlalchemy import update

from digest.search import DocKey, TextQuery
from digest.search.sync import check, index_pending, rebuild, record_pending
from digest.search.tantivy_index import SearchBusy
from digest.stores import db
from digest.stores.keys import RedisKeys
from tests.factories import make_attendance, make_event, make_person

KEYS = RedisKeys("t:")
DAY = dt.date(2027, 1, 10)


def titles(index, text=""):
    return {hit.id: hit.title for hit in index.search(TextQuery(text, today=DAY)).hits}


def test_pending_documents_are_indexed_in_batches_and_gone_rows_deleted(engine, redis_client, tantivy_index):
    with engine.begin() as c:
        ada = make_person(c, name="Ada Lovelace")
        bob = make_person(c, name="Bob Builder")
        conf = make_event(c, DAY, name="Search Conf")
        make_attendance(c, ada, conf, "speaking")
    assert (
        record_pending(redis_client, KEYS, [DocKey("person", ada), DocKey("person", bob), DocKey("event", conf)]) == 3
    )
    assert record_pending(redis_client, KEYS, [DocKey("person", ada)]) == 0  # already pending

    stats = index_pending(tantivy_index, engine, redis_client, KEYS, batch=2)
    assert (stats.indexed, stats.deleted, stats.batches) == (3, 0, 2)
    assert titles(tantivy_index) == {
        f"person:{ada}": "Ada Lovelace",
        f"person:{bob}": "Bob Builder",
        f"event:{conf}": "Search Conf",
    }
    assert [h.speaker_ids for h in tantivy_index.events_with_people([ada], DAY, DAY, with_people=True).hits] == [{ada}]
    assert redis_client.scard(KEYS.search_pending) == 0

    with engine.begin() as c:
        c.execute(update(db.person).where(db.person.c.id == ada).values(name="Ada King"))
        c.execute(db.person.delete().where(db.person.c.id == bob))
    record_pending(redis_client, KEYS, [DocKey("person", ada), DocKey("person", bob)])
    redis_client.sadd(KEYS.search_pending, "junk", "event:x")  # not ours: dropped, not retried forever
    stats = index_pending(tantivy_index, engine, redis_client, KEYS)
    assert (stats.indexed, stats.deleted, stats.ignored) == (1, 1, 2)
    assert titles(tantivy_index, "ada") == {f"person:{ada}": "Ada King"}
    assert f"person:{bob}" not in titles(tantivy_index)


def test_a_failed_batch_goes_back_into_the_pending_set(engine, redis_client, tantivy_index):
    with engine.begin() as c:
        ada = make_person(c, name="Ada")
    record_pending(redis_client, KEYS, [DocKey("person", ada)])
    # Another process holds the index's one writer.
    holder = tantivy.Index.open(str(tantivy_index.generation_dir())).writer(15_000_000, 1)
    with pytest.raises(SearchBusy):
        index_pending(tantivy_index, engine, redis_client, KEYS)
    assert redis_client.smembers(KEYS.search_pending) == {f"person:{ada}".encode()}
    del holder
    assert index_pending(tantivy_index, engine, redis_client, KEYS).indexed == 1
    assert list(titles(tantivy_index)) == [f"person:{ada}"]


def test_one_indexer_at_a_time(engine, redis_client, tantivy_index):
    with engine.begin() as c:
        ada = make_person(c, name="Ada")
    record_pending(redis_client, KEYS, [DocKey("person", ada)])
    lock = redis_client.lock(KEYS.search_indexer_lock, timeout=60)
    assert lock.acquire(blocking=False)
    stats = index_pending(tantivy_index, engine, redis_client, KEYS)
    assert stats.busy and stats.indexed == 0
    assert redis_client.scard(KEYS.search_pending) == 1  # left for the indexer holding the lock
    lock.release()
    assert index_pending(tantivy_index, engine, redis_client, KEYS).indexed == 1


def test_rebuild_then_check_reports_missing_stale_and_extra(engine, redis_client, tantivy_index):
    with engine.begin() as c:
        ada = make_person(c, name="Ada")
        bob = make_person(c, name="Bob")
        conf = make_event(c, DAY, name="Conf")
        make_attendance(c, ada, conf)
    stats = rebuild(tantivy_index, engine, redis_client, KEYS)
    assert stats.documents == 3
    drift = check(tantivy_index, engine)
    assert drift.clean and (drift.checked, drift.indexed) == (3, 3)

    # The database changes behind the index's back (a bulk UPDATE sends no signal).
    with engine.begin() as c:
        carol = make_person(c, name="Carol")
        c.execute(update(db.person).where(db.person.c.id == ada).values(name="Ada King"))
        make_attendance(c, bob, conf, "speaking")
        c.execute(db.person.delete().where(db.person.c.id == carol))
        dan = make_person(c, name="Dan")
    drift = check(tantivy_index, engine)
    assert not drift.clean
    assert drift.missing == [f"person:{dan}"]
    assert drift.stale == [f"event:{conf}", f"person:{ada}"]
    assert drift.extra == []
    with engine.begin() as c:
        c.execute(db.attendance.delete().where(db.attendance.c.event_id == conf))
        c.execute(db.event_.delete().where(db.event_.c.id == conf))
    assert check(tantivy_index, engine).extra == [f"event:{conf}"]

    rebuild(tantivy_index, engine, redis_client, KEYS)
    assert check(tantivy_index, engine).clean


def test_writes_indexed_during_a_rebuild_survive_the_swap(engine, redis_client, tantivy_index):
    with engine.begin() as c:
        make_person(c, name="Ada")
    written = {}

    def meanwhile(step, count):
        # A site write commits and its indexer runs after the rebuild read its snapshot,
        # before the swap: the indexer writes into the generation about to be replaced.
        if "id" not in written:
            with engine.begin() as c:
                written["id"] = make_person(c, name="Written Meanwhile")
            record_pending(redis_client, KEYS, [DocKey("person", written["id"])])
            assert index_pending(tantivy_index, engine, redis_client, KEYS).indexed == 1

    stats = rebuild(tantivy_index, engine, redis_client, KEYS, progress=meanwhile)
    assert stats.requeued == 1 and stats.caught_up.indexed == 1
    assert f"person:{written['id']}" in titles(tantivy_index, "meanwhile")
    assert check(tantivy_index, engine).clean
    assert not redis_client.exists(KEYS.search_rebuilding, KEYS.search_dirty)


def test_a_refused_link_leaves_the_index_and_a_rebuild_never_adds_it(engine, redis_client, tantivy_index):
    from digest.coverage.store import coverage_add

    with engine.begin() as c:
        conf = make_event(c, DAY, name="Search Conf")
    shown = coverage_add(engine, url="https://slides.example/deck", event_id=conf)
    hidden = coverage_add(engine, url="http://127.0.0.1/admin", event_id=conf)
    record_pending(redis_client, KEYS, [DocKey("coverage", shown), DocKey("coverage", hidden)])
    index_pending(tantivy_index, engine, redis_client, KEYS)
    assert {f"coverage:{shown}", f"coverage:{hidden}"} <= set(titles(tantivy_index))
    with engine.begin() as c:  # what the fetch task writes when the guarded client refuses it
        c.execute(update(db.coverage).where(db.coverage.c.id == hidden).values(status="refused",
                                                                               failure="private address"))
    record_pending(redis_client, KEYS, [DocKey("coverage", hidden)])
    assert index_pending(tantivy_index, engine, redis_client, KEYS).deleted == 1
    assert f"coverage:{hidden}" not in titles(tantivy_index)
    rebuild(tantivy_index, engine, redis_client, KEYS)
    found = titles(tantivy_index)
    assert f"coverage:{shown}" in found and f"coverage:{hidden}" not in found
    assert check(tantivy_index, engine).clean
