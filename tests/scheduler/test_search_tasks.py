"""The search indexing task through a real `lanyard worker` on a real Redis broker."""

from __future__ import annotations

from digest.search import DocKey, TextQuery
from digest.search.sync import record_pending
from digest.search.tantivy_index import TantivyIndex
from digest.stores.keys import RedisKeys
from digest.vocabulary import TaskName
from tests.factories import make_event, make_person
from tests.scheduler.conftest import DAY, wait_until


def test_the_worker_drains_the_pending_set_into_the_index(
    engine, redis_client, sched_settings, prefix, workers, celery_app
):
    assert "scheduler.search_tasks" in celery_app.conf.include
    with engine.begin() as connection:
        ada = make_person(connection, name="Ada Lovelace")
        conf = make_event(connection, DAY, name="Search Conf")
    keys = RedisKeys(prefix)
    record_pending(redis_client, keys, [DocKey("person", ada), DocKey("event", conf), DocKey("person", 999_999)])
    workers.start(concurrency=1)

    celery_app.send_task(TaskName.SEARCH_INDEX_PENDING)
    wait_until(lambda: not redis_client.scard(keys.search_pending), timeout=60, message="the pending set to drain")

    index = TantivyIndex(sched_settings.search.path)  # the worker's index: the same data directory
    found = wait_until(lambda: {h.id: h.title for h in index.search(TextQuery("", today=DAY)).hits} or None,
                       timeout=30, message="the documents")
    assert found == {f"person:{ada}": "Ada Lovelace", f"event:{conf}": "Search Conf"}

    # A second send with nothing pending is harmless; new writes are picked up by the next one.
    with engine.begin() as connection:
        bob = make_person(connection, name="Bob Builder")
    record_pending(redis_client, keys, [DocKey("person", bob)])
    celery_app.send_task(TaskName.SEARCH_INDEX_PENDING)
    celery_app.send_task(TaskName.SEARCH_INDEX_PENDING)
    wait_until(lambda: index.search(TextQuery("bob", today=DAY)).total == 1, timeout=60, message="bob indexed")
    assert index.search(TextQuery("", today=DAY)).total == 3
