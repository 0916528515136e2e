"""The search sync task: drain the pending set into the search index.

scheduler/app.py must include "scheduler.search_tasks" (it does: ``create_app`` imports
this module and lists it in ``include``), so the shared task below binds to whichever
app is current. The task is sent by the site after each committing transaction that
touched an indexed row (``lanyard_site/events/search_signals.py``), and runs every
minute from beat as the periodic flush that catches up when a send was lost (the
pending set in Redis is the durable record; ``lanyard search sync`` drains it by hand).
It takes no arguments: the ids are in the set, and a batch may carry many writes.
"""

from __future__ import annotations

from celery import shared_task

from digest.faults import backoff, temporary
from digest.search import SearchError
from digest.search.sync import index_pending as drain
from digest.stores.keys import RedisKeys
from digest.vocabulary import TaskName

from .context import context


@shared_task(bind=True, name=TaskName.SEARCH_INDEX_PENDING, max_retries=None, acks_late=True, ignore_result=True)
def index_pending(self):
    """Index the documents written since the last run (see digest/search/sync.py)."""
    ctx = context(self)
    try:
        stats = drain(ctx.search, ctx.engine, ctx.redis, RedisKeys(ctx.settings.redis.prefix))
    except SearchError as error:  # the index's writer is busy, or Solr is away: the ids wait in the set
        raise self.retry(countdown=backoff(self.request.retries), exc=error) from None
    except Exception as error:
        if temporary(error) is None:
            raise
        raise self.retry(countdown=backoff(self.request.retries), exc=error) from None
    if stats.busy:
        return "another indexer is draining the set"
    return f"indexed {stats.indexed}, deleted {stats.deleted}, in {stats.batches} batches"
