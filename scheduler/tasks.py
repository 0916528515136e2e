"""The Celery tasks: primitive ids in, a call into ``digest`` (or a scheduler service) out.

Every task is idempotent: a chunk is claimed in the database before it is worked on
and counted once (``scheduler/chunks.py``), each delivery is claimed in the ledger
before it is sent (``digest/ledger.py``), and finishing totals the ledger. So a message
delivered twice, or a task re-run after its worker was killed, changes nothing twice.
Temporary failures (a store or server away) are retried with backoff and written in
the run's notes.
"""

from __future__ import annotations

import datetime as dt
import logging
import os

from celery import shared_task

from digest.pipeline import RunPaused, recover_stale_claims
from digest.pipeline import finish_run as finish
from digest.subscriptions import unsubscribe_replay
from digest.vocabulary import TaskName

from . import chunks as chunk_store
from .context import WorkerContext, context
from .faults import backoff, temporary
from .planning import plan_due
from .runs import RunControlError, failed_attempts, run_note, run_retry_failed, run_start
from .runtime import schedule_claim_tick, schedule_get

log = logging.getLogger("lanyard.scheduler")

def _note(ctx: WorkerContext, run_id: int | None, text: str) -> None:
    """Record a fault in the run's notes; the database itself may be the fault."""
    log.warning("run %s: %s", run_id, text)
    if run_id is None:
        return
    try:
        run_note(ctx.engine, run_id=run_id, note=text)
    except Exception as error:  # noqa: BLE001 - the note waits for the next success
        log.warning("could not write the note to run %s: %s", run_id, error)


# -- chunks -------------------------------------------------------------------------------


@shared_task(bind=True, name=TaskName.PROCESS_CHUNK, max_retries=None, acks_late=True)
def process_chunk(self, chunk_id: int, fault: str = ""):
    """Deliver one chunk of a run through the digest pipeline."""
    ctx = context(self)
    run_id = None
    try:
        schedule = schedule_get(ctx.engine)
        chunk = chunk_store.chunk_claim(
            ctx.engine, chunk_id=chunk_id, claim=self.request.id or f"local-{os.getpid()}",
            timeout=dt.timedelta(seconds=schedule.chunk_timeout),
        )
        if chunk is None:
            return "done or taken"
        run_id = chunk.run_id
        if schedule.paused:
            # The global pause: the chunk waits; unpausing queues it again.
            chunk_store.chunk_release(ctx.engine, chunk_id=chunk_id, claim=self.request.id, error="schedule paused")
            return "paused"
        pipeline = ctx.pipeline
        pipeline.claim_timeout = dt.timedelta(seconds=schedule.chunk_timeout)
        result = pipeline.process_chunk(run_id=chunk.run_id, subscription_ids=chunk.subscription_ids)
        completion = chunk_store.chunk_complete(
            ctx.engine,
            chunk_id=chunk_id,
            sent=result.sent,
            skipped=result.skipped,
            failed=result.failed,
            bounced=result.bounced,
        )
    except RunPaused:
        chunk_store.chunk_release(ctx.engine, chunk_id=chunk_id, claim=self.request.id, error="run paused")
        return "paused"
    except Exception as error:
        reason = temporary(error)
        if reason is None:
            raise
        delay = backoff(self.request.retries)
        _note(ctx, run_id, f"chunk {chunk_id}: {reason}; retrying in {delay:.0f}s")
        raise self.retry(countdown=delay, kwargs={"chunk_id": chunk_id, "fault": reason}) from None
    if fault:
        _note(ctx, run_id, f"chunk {chunk_id}: done after {self.request.retries} retries (last fault: {fault})")
    if completion.first and completion.chunks_done >= completion.chunks_total:
        ctx.enqueue.finish(run_id)
    return f"sent {result.sent}, skipped {result.skipped}, failed {result.failed}, bounced {result.bounced}"


# -- runs -----------------------------------------------------------------------------------


@shared_task(bind=True, name=TaskName.FINISH_RUN, max_retries=None, acks_late=True)
def finish_run(self, run_id: int):
    """Total a run whose chunks are all done, or first retry its temporary failures."""
    ctx = context(self)
    try:
        schedule = schedule_get(ctx.engine)
        # Temporarily failed deliveries (a mail server away) go round again with
        # growing pauses, up to max_attempts tries each, before the run is called done.
        tries = failed_attempts(ctx.engine, run_id=run_id)
        delay = backoff(max(tries - 1, 0), base=4.0, cap=300.0)
        try:
            retried = run_retry_failed(
                ctx.engine, ctx.enqueue, run_id=run_id, max_attempts=schedule.max_attempts + 1, countdown=delay,
            )
        except RunControlError:
            retried = 0  # cancelled, paused or dry: nothing to retry now
        if retried:
            _note(ctx, run_id, f"{retried} deliveries failed temporarily (try {tries}); retrying them in {delay:.0f}s")
            return f"retrying {retried}"
        summary = finish(ctx.engine, run_id=run_id)
    except Exception as error:
        reason = temporary(error)
        if reason is None:
            raise
        raise self.retry(countdown=backoff(self.request.retries)) from None
    return f"{summary.status}: sent {summary.sent}, skipped {summary.skipped}, failed {summary.failed}"


@shared_task(bind=True, name=TaskName.PLAN, max_retries=None, acks_late=True)
def plan(self, list_name: str, digest_date: str, dry_run: bool = False, limit: int | None = None):
    """Plan a run for one list and date and queue its chunks (for programmatic starts)."""
    ctx = context(self)
    try:
        return run_start(
            ctx.engine, ctx.enqueue, list_name=list_name, digest_date=dt.date.fromisoformat(digest_date),
            dry_run=dry_run, limit=limit,
        )
    except Exception as error:
        if temporary(error) is None:
            raise
        raise self.retry(countdown=backoff(self.request.retries)) from None


@shared_task(bind=True, name=TaskName.TICK, max_retries=3, acks_late=True)
def tick(self, now: str | None = None, force: bool = False):
    """The beat tick: once per runtime tick period, sweep and plan what is due."""
    ctx = context(self)
    moment = dt.datetime.fromisoformat(now) if now else dt.datetime.now(dt.UTC)
    try:
        schedule = schedule_get(ctx.engine)
        if not schedule_claim_tick(ctx.engine, now=moment, tick_seconds=schedule.tick_seconds) and not force:
            return "not yet"
        sweep_now(ctx, schedule)
        if schedule.paused:
            return "paused"
        run_ids = plan_due(ctx.engine, ctx.enqueue, now=moment, schedule=schedule)
    except Exception as error:
        if temporary(error) is None:
            raise
        log.warning("tick: %s; the next tick tries again", temporary(error))
        return "store unavailable"
    return f"planned runs {run_ids}" if run_ids else "nothing due"


@shared_task(bind=True, name=TaskName.SWEEP, acks_late=True)
def sweep(self):
    ctx = context(self)
    return sweep_now(ctx, schedule_get(ctx.engine))


def sweep_now(ctx: WorkerContext, schedule) -> str:
    """Recover what faults left behind: stale ledger claims, lost chunks, queued unsubscribes."""
    timeout = dt.timedelta(seconds=schedule.chunk_timeout)
    recovered = recover_stale_claims(ctx.engine, older_than=timeout)
    lost = chunk_store.chunks_to_requeue(ctx.engine, timeout=timeout, include_paused=not schedule.paused)
    if lost:
        chunk_store.chunks_mark_queued(ctx.engine, chunk_ids=lost)
        ctx.enqueue.chunks(lost)
        for run_id in chunk_store.runs_of_chunks(ctx.engine, chunk_ids=lost):
            _note(ctx, run_id, "chunks lost (a worker stopped, or the broker lost messages): queued again")
    unfinished = chunk_store.runs_unfinished_with_all_chunks_done(ctx.engine)
    for run_id in unfinished:
        ctx.enqueue.finish(run_id)
    replayed = _replay_unsubscribes(ctx)
    return (
        f"claims recovered {recovered}, chunks requeued {len(lost)}, runs finished {len(unfinished)}, "
        f"unsubscribes replayed {replayed}"
    )


def _replay_unsubscribes(ctx: WorkerContext) -> int:
    return unsubscribe_replay(ctx.engine, ctx.redis, prefix=ctx.settings.redis_prefix)
