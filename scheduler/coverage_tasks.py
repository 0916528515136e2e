"""Fetching pasted links: one task per coverage row, and a periodic revalidation.

The site sends ``lanyard.coverage.fetch`` with the row's id once the paste commits; the
task calls ``digest.coverage.store.coverage_fetch`` through this process's guarded HTTP
client. Temporary failures (timed out, connection failed, HTTP 5xx) retry with backoff;
the last attempt records the failure. Fetches run on their own queue (``fetching``), so
a slow site ties up at most a fetching slot for the client's deadline, never planning
or sending. ``lanyard.coverage.revalidate`` runs from beat: coverage fetched more than
30 days ago is fetched again with conditional GETs, and rows left fetching by a lost
task are sent again.
"""

from __future__ import annotations

import logging

from celery import shared_task

from digest.coverage.store import coverage_due, coverage_fetch
from digest.coverage.values import FetchOutcome
from digest.faults import backoff
from digest.search.documents import DocKey
from digest.search.sync import record_pending
from digest.stores.keys import RedisKeys
from digest.vocabulary import TaskName

from .context import context

log = logging.getLogger("lanyard.coverage")

ATTEMPTS = 4


# The client's deadline bounds a fetch; the time limit is a last resort against a bug that loops.
@shared_task(bind=True, name=TaskName.COVERAGE_FETCH, max_retries=ATTEMPTS - 1, acks_late=True, ignore_result=True,
             time_limit=300)
def fetch(self, coverage_id: int):
    """Fetch one pasted link and record what it is."""
    ctx = context(self)
    last = self.request.retries >= ATTEMPTS - 1
    result = coverage_fetch(ctx.engine, ctx.http, coverage_id=int(coverage_id), last_attempt=last)
    if result.outcome is FetchOutcome.RETRY:
        raise self.retry(countdown=backoff(self.request.retries, base=5.0, cap=300.0)) from None
    if result.outcome in (FetchOutcome.OK, FetchOutcome.FAILED):
        # The row changed behind Django's signals: note its search document for the indexer.
        record_pending(ctx.redis, RedisKeys(ctx.settings.redis.prefix), {DocKey("coverage", int(coverage_id))})
        ctx.enqueue.search_index_pending()
    why = f" ({result.reason}: {result.detail})" if result.reason else ""
    return f"coverage {coverage_id}: {result.outcome}{why}"


@shared_task(bind=True, name=TaskName.COVERAGE_REVALIDATE, acks_late=True, ignore_result=True)
def revalidate(self):
    """Send a fetch for each coverage row that is due again."""
    ctx = context(self)
    due = coverage_due(ctx.engine)
    for coverage_id in due:
        ctx.enqueue.coverage_fetch(coverage_id)
    return f"{len(due)} coverage links to fetch again"
