"""The Celery tasks: primitive ids in, a call into ``digest`` (or a scheduler service) out.

Every task is idempotent: a chunk is claimed in the database before it is worked on
and counted once (``digest/runs/``, worked through ``digest/nightly/batch.py``), each
delivery is claimed in the ledger before it is sent (``digest/delivery/ledger.py``), and
finishing totals the ledger. So a message
delivered twice, or a task re-run after its worker was killed, changes nothing twice.
Temporary failures (a store or server away) are retried with backoff and written in
the run's notes.
"""

from __future__ import annotations

import datetime as dt
import logging
import os

from celery import shared_task

from digest.delivery import ledger
from digest.faults import backoff, temporary
from digest.nightly.batch import Verdict, retry_delay, work_chunk
from digest.runs.chunks import chunk_claim, chunk_release, chunks_mark_queued, chunks_to_requeue, runs_of_chunks
from digest.runs.finishing import FinishPolicy, run_finish, runs_unfinished_with_all_chunks_done
from digest.runs.planning import RunRequest, plan_due, run_start
from digest.runs.runtime import schedule_claim_tick, schedule_get
from digest.runs.state import run_note
from digest.unsubscribe_queue import unsubscribe_replay
from digest.vocabulary import TaskName

from .context import WorkerContext, context

log = logging.getLogger("lanyard.scheduler")

def _note(ctx: WorkerContext, run_id: int | None, text: str) -> None:
    """Record a fault in the run's notes; the database itself may be the fault."""
    log.warning("run %s: %s", run_id, text)
    if run_id is None:
        return
    try:
        run_note(ctx.engine, run_id=run_id, note=text)
    except Exception as error:  # the note waits for the next success
        log.warning("could not write the note to run %s: %s", run_id, error)


# -- chunks -------------------------------------------------------------------------------


@shared_task(bind=True, name=TaskName.PROCESS_CHUNK, max_retries=None, acks_late=True)
def process_chunk(self, chunk_id: int, fault: str = ""):
    """Deliver one chunk of a run through the digest pipeline (``digest/nightly/batch.py``)."""
    ctx = context(self)
    claim = self.request.id or f"local-{os.getpid()}"
    run_id = None
    try:
        schedule = schedule_get(ctx.engine)
        if schedule.paused:
            # The global pause: the chunk waits; unpausing queues it again.
            chunk = chunk_claim(
                ctx.engine, chunk_id=chunk_id, claim=claim, timeout=dt.timedelta(seconds=schedule.chunk_timeout)
            )
            if chunk is None:
                return "done or taken"
            chunk_release(ctx.engine, chunk_id=chunk_id, claim=claim, error="schedule paused")
            return "paused"
        outcome = work_chunk(
            ctx.pipeline, chunk_id=chunk_id, claim=claim, timeout=dt.timedelta(seconds=schedule.chunk_timeout)
        )
        run_id = outcome.run_id
    except Exception as error:
        reason = temporary(error)
        if reason is None:
            raise
        delay = backoff(self.request.retries)
        _note(ctx, chunk_run_id(ctx, chunk_id), f"chunk {chunk_id}: {reason}; retrying in {delay:.0f}s")
        raise self.retry(countdown=delay, kwargs={"chunk_id": chunk_id, "fault": reason}) from None
    if fault and outcome.verdict == Verdict.DONE:
        _note(ctx, run_id, f"chunk {chunk_id}: done after {self.request.retries} retries (last fault: {fault})")
    if outcome.last and run_id is not None:
        ctx.enqueue.finish(run_id)
    if outcome.result is None:
        return str(outcome.verdict)
    r = outcome.result
    return f"sent {r.sent}, skipped {r.skipped}, failed {r.failed}, bounced {r.bounced}"


def chunk_run_id(ctx: WorkerContext, chunk_id: int) -> int | None:
    """The run a chunk belongs to, for its notes (None when the database cannot say)."""
    try:
        found = runs_of_chunks(ctx.engine, chunk_ids=[chunk_id])
    except Exception:  # the database may be the fault being noted
        return None
    return found[0] if found else None


# -- runs -----------------------------------------------------------------------------------

IN_FLIGHT_POLL_SECONDS = 5.0  # how often a run waiting for deliveries in flight looks again


@shared_task(bind=True, name=TaskName.FINISH_RUN, max_retries=None, acks_late=True)
def finish_run(self, run_id: int):
    """End a run whose chunks are all done, once nothing is in flight; first send its
    temporarily failed deliveries round again, with growing pauses, up to max_attempts."""
    ctx = context(self)
    try:
        schedule = schedule_get(ctx.engine)
        policy = FinishPolicy(
            stale_after=dt.timedelta(seconds=schedule.chunk_timeout), max_attempts=schedule.max_attempts,
            chunk_size=schedule.chunk_size,
        )
        finishing = run_finish(ctx.engine, run_id=run_id, policy=policy)
        if finishing.retry_chunk_ids:
            delay = retry_delay(finishing.attempts)
            due = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=delay)
            chunks_mark_queued(ctx.engine, chunk_ids=finishing.retry_chunk_ids, not_before=due)
            ctx.enqueue.chunks(finishing.retry_chunk_ids, countdown=delay)
            _note(ctx, run_id, f"{finishing.retrying} deliveries failed temporarily (try {finishing.attempts}); "
                               f"retrying them in {delay:.0f}s")
            return f"retrying {finishing.retrying}"
        if finishing.in_flight:
            # A worker still holds these claims (or held them when it died): they settle,
            # or go stale after chunk_timeout and are taken over; look again soon.
            _note(ctx, run_id, f"waiting for {finishing.in_flight} deliveries in flight")
            ctx.enqueue.finish(run_id, countdown=IN_FLIGHT_POLL_SECONDS)
            return f"waiting for {finishing.in_flight} in flight"
    except Exception as error:
        if temporary(error) is None:
            raise
        raise self.retry(countdown=backoff(self.request.retries)) from None
    summary = finishing.summary
    if summary is None:
        return f"{finishing.chunks_left} chunks still to do"
    return (
        f"{summary.status}: sent {summary.sent}, skipped {summary.skipped}, failed {summary.failed}, "
        f"bounced {summary.bounced}"
    )


@shared_task(bind=True, name=TaskName.PLAN, max_retries=None, acks_late=True)
def plan(self, list_name: str, digest_date: str, dry_run: bool = False, limit: int | None = None):
    """Plan a run for one list and date and queue its chunks (for programmatic starts)."""
    ctx = context(self)
    request = RunRequest(
        list_name=list_name, digest_date=dt.date.fromisoformat(digest_date), dry_run=dry_run, limit=limit, chunk_size=0,
    )
    try:
        return run_start(ctx.engine, ctx.enqueue, request=request)
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
        # Every beat sweeps, so stale claims and lost chunks are taken over soon after
        # chunk_timeout; planning waits for its tick period.
        sweep_now(ctx, schedule)
        if not schedule_claim_tick(ctx.engine, now=moment, tick_seconds=schedule.tick_seconds) and not force:
            return "not yet"
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
    """Recover what faults left behind: stale ledger claims, lost chunks, runs never
    finished, queued unsubscribes."""
    timeout = dt.timedelta(seconds=schedule.chunk_timeout)
    with ctx.engine.begin() as connection:
        recovered = ledger.delivery_recover_stale(connection, older_than=timeout)
    lost = chunks_to_requeue(ctx.engine, timeout=timeout, include_paused=not schedule.paused)
    if lost:
        chunks_mark_queued(ctx.engine, chunk_ids=lost)
        ctx.enqueue.chunks(lost)
        for run_id in runs_of_chunks(ctx.engine, chunk_ids=lost):
            _note(ctx, run_id, "chunks lost (a worker stopped, or the broker lost messages): queued again")
    unfinished = runs_unfinished_with_all_chunks_done(ctx.engine)
    for run_id in unfinished:
        ctx.enqueue.finish(run_id)
    replayed = _replay_unsubscribes(ctx)
    return (
        f"claims recovered {recovered}, chunks requeued {len(lost)}, runs finished {len(unfinished)}, "
        f"unsubscribes replayed {replayed}"
    )


def _replay_unsubscribes(ctx: WorkerContext) -> int:
    return unsubscribe_replay(ctx.engine, ctx.redis, prefix=ctx.settings.redis.prefix)
