"""Keep the search index in step with the database, which stays the source of truth.

* Site writes record the ids of the documents they touch in a Redis set
  (``RedisKeys.search_pending``) after their transaction commits, and ask a Celery task
  to run :func:`index_pending`, which drains the set and indexes the current rows in
  batches. The set is the durable record: if the broker is down the ids wait there
  until the next task or the periodic flush.
* :func:`rebuild` streams the whole database into a fresh index and swaps it in. Ids
  indexed into the old index while it runs are noted (``search_dirty``) and queued again
  once the new one is live, so no write made meanwhile is lost to the swap.
* :func:`check` compares the index with the database: documents missing, stale (content
  differs) or extra.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import redis as redis_lib
from sqlalchemy import Engine

from digest.errors import SearchMissing
from digest.heal import Healing, StillMissing, rebuild_once
from digest.search.documents import DocKey, SearchDocument, load_documents, stream_documents
from digest.search.index import SearchIndex
from digest.stores.keys import RedisKeys
from digest.stores.scripts import lua

BATCH = 2_000
LOCK_SECONDS = 600
REBUILD_MARKER_SECONDS = 6 * 3600  # a crashed rebuild's marker expires on its own

Progress = Callable[[str, int], None]

_POP_LUA = lua("search_pending_pop")


def record_pending(client: redis_lib.Redis, keys: RedisKeys, doc_keys: Iterable[DocKey]) -> int:
    """Note documents to (re)index; returns how many ids were new to the set."""
    ids = sorted({key.id for key in doc_keys})
    return int(client.sadd(keys.search_pending, *ids)) if ids else 0


@dataclass
class IndexStats:
    indexed: int = 0
    deleted: int = 0
    batches: int = 0
    ignored: int = 0  # malformed ids found in the set
    busy: bool = False  # another indexer holds the lock; it drains what is pending


def index_pending(
    index: SearchIndex, engine: Engine, client: redis_lib.Redis, keys: RedisKeys, *, batch: int = BATCH
) -> IndexStats:
    """Drain the pending set into the index, a batch at a time, one indexer at a time.

    A batch that fails goes back into the set before the error propagates, so nothing
    is lost; the caller (a Celery task) retries later.
    """
    stats = IndexStats()
    pop = client.register_script(_POP_LUA)
    while True:
        lock = client.lock(keys.search_indexer_lock, timeout=LOCK_SECONDS, blocking=False)
        if not lock.acquire():
            stats.busy = True
            return stats
        try:
            while True:
                popped = pop(keys=[keys.search_pending, keys.search_rebuilding, keys.search_dirty], args=[batch])
                if not popped:
                    break
                try:
                    _index_batch(index, engine, _parse_ids(popped, stats), stats)
                except BaseException:
                    client.sadd(keys.search_pending, *popped)
                    raise
                lock.extend(LOCK_SECONDS, replace_ttl=True)
        finally:
            lock.release()
        # An id added between our last empty pop and the release met a held lock in its
        # own task; look once more so it does not wait for the periodic flush.
        if not client.scard(keys.search_pending):
            return stats


def _parse_ids(popped: list[bytes], stats: IndexStats) -> list[DocKey]:
    doc_keys = []
    for value in popped:
        try:
            doc_keys.append(DocKey.parse(value))
        except ValueError:
            stats.ignored += 1  # not ours to index; dropping it beats retrying it forever
    return doc_keys


def _index_batch(index: SearchIndex, engine: Engine, doc_keys: list[DocKey], stats: IndexStats) -> None:
    with engine.connect() as connection:
        documents, gone = load_documents(connection, doc_keys)
    index.upsert(documents)
    index.delete(gone)
    stats.indexed += len(documents)
    stats.deleted += len(gone)
    stats.batches += 1


@dataclass
class RebuildStats:
    documents: int = 0
    requeued: int = 0
    seconds: float = 0.0
    caught_up: IndexStats = field(default_factory=IndexStats)


def rebuild(
    index: SearchIndex, engine: Engine, client: redis_lib.Redis, keys: RedisKeys, *, progress: Progress | None = None
) -> RebuildStats:
    """Stream every document into a fresh index, swap it in, then index what changed meanwhile."""
    started = time.perf_counter()
    stats = RebuildStats()
    client.set(keys.search_rebuilding, int(time.time()), ex=REBUILD_MARKER_SECONDS)
    try:
        with engine.connect() as connection:
            stats.documents = index.rebuild(_counted(stream_documents(connection), progress))
    finally:
        stats.requeued = _requeue_dirty(client, keys)
    stats.caught_up = index_pending(index, engine, client, keys)
    stats.seconds = time.perf_counter() - started
    return stats


def heal(index: SearchIndex, engine: Engine, client: redis_lib.Redis, keys: RedisKeys) -> Healing:
    """Rebuild a missing (empty) index from the database, once however many workers
    notice (``digest/heal.py``). A database without documents leaves it empty, and
    then each worker rebuilds it once, which costs nothing."""
    try:
        done = rebuild_once(
            client, keys.search_heal_lock, ready=lambda: index.document_count() > 0,
            rebuild=lambda renew: rebuild(index, engine, client, keys, progress=lambda _step, _rows: renew()),
        )
    except StillMissing as error:
        raise SearchMissing(f"the search index is {error}") from None
    stats = done.stats
    rebuilt = None if stats is None else f"{stats.documents} documents in {stats.seconds:.1f}s"
    return Healing("the search index", rebuilt, done.waited)


def _requeue_dirty(client: redis_lib.Redis, keys: RedisKeys) -> int:
    pipe = client.pipeline(transaction=True)
    pipe.delete(keys.search_rebuilding)
    pipe.scard(keys.search_dirty)
    pipe.sunionstore(keys.search_pending, [keys.search_pending, keys.search_dirty])
    pipe.delete(keys.search_dirty)
    return int(pipe.execute()[1])


def _counted(documents: Iterable[SearchDocument], progress: Progress | None) -> Iterator[SearchDocument]:
    count = 0
    for count, document in enumerate(documents, 1):
        yield document
        if progress and count % 5_000 == 0:
            progress("documents", count)
    if progress:
        progress("documents", count)


@dataclass
class Drift:
    checked: int = 0  # documents the database implies
    indexed: int = 0  # documents in the index
    missing: list[str] = field(default_factory=list)  # in the database, not in the index
    stale: list[str] = field(default_factory=list)  # in both, content differs
    extra: list[str] = field(default_factory=list)  # in the index, not in the database

    @property
    def clean(self) -> bool:
        return not (self.missing or self.stale or self.extra)


def check(index: SearchIndex, engine: Engine, *, progress: Progress | None = None) -> Drift:
    """Compare every document's fingerprint in the index with the database's."""
    with engine.connect() as connection:
        expected = {d.id: d.fingerprint for d in _counted(stream_documents(connection), progress)}
    drift = Drift(checked=len(expected))
    for doc_id, fingerprint in index.fingerprints():
        drift.indexed += 1
        want = expected.pop(doc_id, None)
        if want is None:
            drift.extra.append(doc_id)
        elif want != fingerprint:
            drift.stale.append(doc_id)
    drift.missing = sorted(expected)
    drift.extra.sort()
    drift.stale.sort()
    return drift
