"""Record site writes for the search index after commit; a Celery task indexes them.

Each write names the search documents it changes ("event:12", …). They are gathered
per transaction and, once it commits, added to the pending set in Redis in one command
(a rolled-back transaction records nothing: its ``on_commit`` callback is dropped).
Then the indexing task (``lanyard.search.index_pending``, scheduler/search_tasks.py) is
sent from a background thread, so a slow or absent broker never holds up a request: the
pending set is the durable record, and the periodic flush indexes whatever a lost send
left there. Bulk writes that bypass signals are followed by ``lanyard search rebuild``.
"""

from __future__ import annotations

import logging
import os
import threading
from functools import lru_cache

from django.conf import settings
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete

from digest.search.documents import DocKey
from digest.search.sync import record_pending
from digest.stores.keys import RedisKeys
from digest.stores.redis_store import connect

from ..stores import scheduler_enqueue
from .models import Attendance, Coverage, Event, Person, Session, Topic

log = logging.getLogger(__name__)


class _Batch:
    """The document keys one transaction touched, recorded when it commits."""

    def __init__(self):
        self.keys: set[DocKey] = set()

    def __call__(self):
        try:
            record_pending(_redis(settings.LANYARD), RedisKeys(settings.LANYARD.redis.prefix), self.keys)
        except Exception:  # never fail a committed request over the denormalised copy
            log.exception("could not record %d search updates; run `lanyard search check`", len(self.keys))
            return
        sender.kick()


def touch(keys, using: str) -> None:
    """Index ``keys`` again once the current transaction on ``using`` commits."""
    connection = transaction.get_connection(using)
    batch = getattr(connection, "_lanyard_search_batch", None)
    # A batch whose callback is no longer queued has run, or was dropped by a rollback
    # (of the transaction or of the savepoint it was made in): start a new one.
    if batch is None or all(entry[1] is not batch for entry in connection.run_on_commit):
        batch = connection._lanyard_search_batch = _Batch()
        batch.keys.update(keys)
        transaction.on_commit(batch, using=using)  # runs at once outside a transaction
    else:
        batch.keys.update(keys)


@lru_cache(maxsize=4)
def _redis(lanyard):
    return connect(lanyard)


class Sender:
    """Sends the indexing task from a daemon thread; kicks arriving meanwhile coalesce."""

    def __init__(self):
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.sent = 0

    def kick(self) -> None:
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()  # a forked web worker starts its own thread
                self._thread = threading.Thread(target=self._run, name="lanyard-search-sender", daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            try:
                scheduler_enqueue().search_index_pending(retry=False)
                self.sent += 1
            except Exception as error:  # the ids wait in Redis for the periodic flush
                log.warning("could not queue the search indexer (%s); the pending set keeps the updates", error)


sender = Sender()


def _keys(kind: str, pks) -> list[DocKey]:
    return [DocKey(kind, int(pk)) for pk in pks if pk is not None]


def _saved_or_deleted(kind: str):
    def handler(sender, instance, using, **kwargs):
        touch(_keys(kind, [instance.pk]), using)

    return handler


def attendance_changed(sender, instance, using, **kwargs):
    touch(_keys("event", [instance.event_id]), using)


def event_topics_changed(sender, instance, action, reverse, pk_set, using, **kwargs):
    if not action.startswith("post_"):
        return
    if not reverse:  # event.topics.add(...)
        touch(_keys("event", [instance.pk]), using)
    elif pk_set:  # topic.events.add(...)
        touch(_keys("event", pk_set), using)
    else:  # topic.events.clear(): the events were noted before the rows went
        touch(_keys("event", getattr(instance, "_lanyard_search_events", ())), using)


def event_topics_clearing(sender, instance, action, reverse, using, **kwargs):
    if action == "pre_clear" and reverse:
        instance._lanyard_search_events = list(instance.events.using(using).values_list("pk", flat=True))


def session_speakers_changed(sender, instance, action, reverse, pk_set, using, **kwargs):
    if not action.startswith("post_"):
        return
    if not reverse:
        touch(_keys("session", [instance.pk]), using)
    elif pk_set:
        touch(_keys("session", pk_set), using)
    else:
        touch(_keys("session", getattr(instance, "_lanyard_search_sessions", ())), using)


def session_speakers_clearing(sender, instance, action, reverse, using, **kwargs):
    if action == "pre_clear" and reverse:
        instance._lanyard_search_sessions = list(instance.sessions.using(using).values_list("pk", flat=True))


def topic_saved(sender, instance, using, **kwargs):
    # Events carry their topics' names.
    touch(_keys("event", instance.events.using(using).values_list("pk", flat=True)), using)


def topic_deleting(sender, instance, using, **kwargs):
    # The link rows go without signals; note the events while they can still be found.
    touch(_keys("event", instance.events.using(using).values_list("pk", flat=True)), using)


def person_deleting(sender, instance, using, **kwargs):
    # Session speaker links go without signals when a person is deleted.
    touch(_keys("session", instance.sessions.using(using).values_list("pk", flat=True)), using)


def connect_signals():
    for model, kind in ((Event, "event"), (Session, "session"), (Person, "person"), (Coverage, "coverage")):
        handler = _saved_or_deleted(kind)
        post_save.connect(handler, sender=model, weak=False, dispatch_uid=f"search_{kind}_saved")
        post_delete.connect(handler, sender=model, weak=False, dispatch_uid=f"search_{kind}_deleted")
    post_save.connect(attendance_changed, sender=Attendance, dispatch_uid="search_attendance_saved")
    post_delete.connect(attendance_changed, sender=Attendance, dispatch_uid="search_attendance_deleted")
    m2m_changed.connect(event_topics_clearing, sender=Event.topics.through, dispatch_uid="search_event_topics_clearing")
    m2m_changed.connect(event_topics_changed, sender=Event.topics.through, dispatch_uid="search_event_topics")
    m2m_changed.connect(
        session_speakers_clearing, sender=Session.speakers.through, dispatch_uid="search_session_speakers_clearing"
    )
    m2m_changed.connect(
        session_speakers_changed, sender=Session.speakers.through, dispatch_uid="search_session_speakers"
    )
    post_save.connect(topic_saved, sender=Topic, dispatch_uid="search_topic_saved")
    pre_delete.connect(topic_deleting, sender=Topic, dispatch_uid="search_topic_deleting")
    pre_delete.connect(person_deleting, sender=Person, dispatch_uid="search_person_deleting")
