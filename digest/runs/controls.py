"""The operator's controls over a run: pause, resume, cancel, retry the failed deliveries.

The CLI (`lanyard runs …`), the Django admin's actions and the tests call the same
services; those that queue work hand it to a :class:`~digest.runs.state.RunQueue`.
A refusal is a :class:`~digest.runs.state.RunControlError` with one line for the operator.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Engine, update

from digest.clock import utcnow
from digest.delivery import ledger
from digest.runs.chunks import chunks_add, chunks_of_run, count_chunks
from digest.runs.runtime import schedule_get
from digest.runs.state import RunQueue, RunStateError, refuse, run_get, transition
from digest.stores import db
from digest.vocabulary import ChunkStatus, RunStatus


def run_pause(engine: Engine, *, run_id: int) -> None:
    """Stop sending: chunks stop at their next group of claims and wait."""
    with engine.begin() as connection:
        if not transition(connection, run_id, RunStatus.PAUSED):
            refuse(connection, run_id, RunStatus.PAUSED)


def run_resume(engine: Engine, queue: RunQueue, *, run_id: int) -> None:
    """Go on with a paused run: the chunks that waited are queued again."""
    with engine.begin() as connection:
        if not transition(connection, run_id, RunStatus.RUNNING, allowed=(RunStatus.PAUSED,)):
            refuse(connection, run_id, RunStatus.RUNNING, (RunStatus.PAUSED,))
    queue.chunks(chunks_of_run(engine, run_id=run_id, statuses=(ChunkStatus.PAUSED,)))


def run_cancel(engine: Engine, queue: RunQueue, *, run_id: int) -> None:
    """Stop for good: nothing more is sent; what was sent stays sent. The run is finished
    at once when no chunk is still working (else by the last one to stop)."""
    c = db.digest_chunk
    with engine.begin() as connection:
        if not transition(connection, run_id, RunStatus.CANCELLED):
            refuse(connection, run_id, RunStatus.CANCELLED)
        connection.execute(
            update(c).where(c.c.run_id == run_id, c.c.status.in_((ChunkStatus.QUEUED, ChunkStatus.PAUSED)))
            .values(status=ChunkStatus.DONE, finished_at=utcnow(), last_error="cancelled")
        )
        done, total = count_chunks(connection, run_id=run_id)
    if done >= total:
        queue.finish(run_id)


def run_retry_failed(engine: Engine, queue: RunQueue, *, run_id: int) -> int:
    """Queue every failed delivery of the run again (the operator's retry); returns how many."""
    run = run_get(engine, run_id=run_id)
    if run["status"] == RunStatus.CANCELLED:
        raise RunStateError(f"run {run_id} is cancelled; start a new run instead")
    if run["status"] == RunStatus.PAUSED:
        raise RunStateError(f"run {run_id} is paused; resume it first")
    if run["dry_run"]:
        raise RunStateError(f"run {run_id} is a dry run; it sent nothing to retry")
    with engine.connect() as connection:
        ids = ledger.delivery_failed(connection, run_id=run_id)
    if not ids:
        return 0
    queue.chunks(run_reopen(engine, run_id=run_id, subscription_ids=ids, chunk_size=schedule_get(engine).chunk_size))
    return len(ids)


def run_reopen(engine: Engine, *, run_id: int, subscription_ids: Sequence[int], chunk_size: int,
               not_before: dt.datetime | None = None) -> list[int]:
    """Give a run more chunks (its failed deliveries, to try again) and make it running;
    returns the new chunks, for the caller to queue."""
    if not subscription_ids:
        return []
    c = db.digest_chunk
    chunks = [list(subscription_ids[i:i + chunk_size]) for i in range(0, len(subscription_ids), chunk_size)]
    with engine.begin() as connection:
        run = run_get(connection, run_id=run_id)
        if run["status"] != RunStatus.RUNNING and not transition(
            connection, run_id, RunStatus.RUNNING, finished_at=None
        ):
            refuse(connection, run_id, RunStatus.RUNNING)
        # Chunks that failed for good are superseded by the retry (their error stays).
        connection.execute(
            update(c).where(c.c.run_id == run_id, c.c.status == ChunkStatus.FAILED).values(status=ChunkStatus.DONE)
        )
        return chunks_add(connection, run_id=run_id, chunks=chunks, not_before=not_before)
