"""Operator controls over digest runs, and what they read.

Services (``run_<action>``) change a run and hand work to Celery through ``enqueue``,
an object with ``chunks(chunk_ids, countdown=0)`` and ``finish(run_id)`` (see
:class:`scheduler.app.Enqueue`), so the CLI, the Django admin and the tasks share them.
Selectors (``runs_list``, ``run_progress``) only read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Protocol, Sequence

from sqlalchemy import Engine, and_, func, select, update

from digest import db, ledger
from digest.clock import as_utc, utcnow
from digest.pipeline import plan_run
from digest.vocabulary import ACTIVE_RUN_STATUSES, ChunkStatus, DeliveryStatus, DigestList, RunStatus, SubscriptionStatus

from . import chunks as chunk_store
from .runtime import schedule_get

ACTIVE = ACTIVE_RUN_STATUSES


class RunControlError(ValueError):
    """The run does not exist or is not in a state for that action; one line for the operator."""


class Enqueue(Protocol):
    def chunks(self, chunk_ids: Sequence[int], *, countdown: float = 0) -> None: ...

    def finish(self, run_id: int) -> None: ...


# -- services ---------------------------------------------------------------------------


def run_start(
    engine: Engine,
    enqueue: Enqueue,
    *,
    list_name: str = DigestList.DAILY,
    digest_date: dt.date,
    dry_run: bool = False,
    subscription_ids: Iterable[int] | None = None,
    limit: int | None = None,
    chunk_size: int | None = None,
) -> int:
    """Plan a run and queue its chunks; returns the run id.

    Subscriptions already waiting in another active run's chunks are left to that run,
    so a manual start during a scheduled run (or two ticks) never doubles the work.
    """
    busy = chunk_store.busy_subscription_ids(engine)
    if busy:
        if subscription_ids is None:
            subscription_ids = _active_ids(engine, list_name)
        subscription_ids = [sid for sid in subscription_ids if sid not in busy]
    chunk_size = chunk_size or schedule_get(engine).chunk_size
    plan = plan_run(
        engine, list_name=list_name, digest_date=digest_date, subscription_ids=subscription_ids,
        limit=limit, dry_run=dry_run, chunk_size=chunk_size,
    )
    with engine.begin() as connection:
        chunk_ids = chunk_store.chunks_create(connection, run_id=plan.run_id, chunks=plan.chunks)
        r = db.digest_run
        connection.execute(update(r).where(r.c.id == plan.run_id).values(status=RunStatus.RUNNING, started_at=utcnow()))
    if chunk_ids:
        enqueue.chunks(chunk_ids)
    else:
        enqueue.finish(plan.run_id)
    return plan.run_id


def run_pause(engine: Engine, *, run_id: int) -> None:
    """Stop sending: chunks stop at their next group of claims and wait."""
    _transition(engine, run_id, to=RunStatus.PAUSED, allowed=(RunStatus.PLANNED, RunStatus.RUNNING))


def run_resume(engine: Engine, enqueue: Enqueue, *, run_id: int) -> None:
    _transition(engine, run_id, to=RunStatus.RUNNING, allowed=(RunStatus.PAUSED,))
    enqueue.chunks(chunk_store.chunks_of_run(engine, run_id=run_id, statuses=(ChunkStatus.PAUSED,)))


def run_cancel(engine: Engine, enqueue: Enqueue, *, run_id: int) -> None:
    """Stop for good: nothing more is sent; what was sent stays sent."""
    _transition(engine, run_id, to=RunStatus.CANCELLED, allowed=ACTIVE)
    c = db.digest_chunk
    with engine.begin() as connection:
        connection.execute(
            update(c).where(c.c.run_id == run_id, c.c.status.in_((ChunkStatus.QUEUED, ChunkStatus.PAUSED)))
            .values(status=ChunkStatus.DONE, finished_at=utcnow(), last_error="cancelled")
        )
        done, total = chunk_store.run_count_chunks(connection, run_id=run_id)
    if done >= total:
        enqueue.finish(run_id)


def run_retry_failed(engine: Engine, enqueue: Enqueue, *, run_id: int, max_attempts: int | None = None, countdown: float = 0) -> int:
    """Queue the run's temporarily failed deliveries again; returns how many.

    With ``max_attempts``, only deliveries tried fewer times than that (the automatic
    retry after a run); the operator's command retries them all.
    """
    run = _run(engine, run_id)
    if run["status"] == RunStatus.CANCELLED:
        raise RunControlError(f"run {run_id} is cancelled; start a new run instead")
    if run["status"] == RunStatus.PAUSED:
        raise RunControlError(f"run {run_id} is paused; resume it first")
    if run["dry_run"]:
        raise RunControlError(f"run {run_id} is a dry run; it sent nothing to retry")
    ids = failed_subscription_ids(engine, run_id=run_id, max_attempts=max_attempts)
    if not ids:
        return 0
    size = schedule_get(engine).chunk_size
    with engine.begin() as connection:
        chunk_ids = chunk_store.chunks_create(connection, run_id=run_id, chunks=[ids[i:i + size] for i in range(0, len(ids), size)])
        r = db.digest_run
        connection.execute(update(r).where(r.c.id == run_id).values(status=RunStatus.RUNNING, finished_at=None))
    enqueue.chunks(chunk_ids, countdown=countdown)
    return len(ids)


def run_note(engine: Engine, *, run_id: int, note: str) -> None:
    """Append a line to the run's record of what happened."""
    r = db.digest_run
    line = f"{utcnow():%Y-%m-%d %H:%M:%S} {note}"
    with engine.begin() as connection:
        notes = connection.execute(select(r.c.notes).where(r.c.id == run_id)).scalar()
        if notes is None:
            return
        lines = notes.splitlines()
        # A fault repeating every retry says it once, with a count, not a thousand times.
        if lines and lines[-1][20:].split(" (×")[0] == note:
            count = int(lines[-1].split(" (×")[1].rstrip(")")) + 1 if " (×" in lines[-1] else 2
            lines[-1] = f"{line} (×{count})"
        else:
            lines.append(line)
        connection.execute(update(r).where(r.c.id == run_id).values(notes="\n".join(lines[-200:])))


def _transition(engine: Engine, run_id: int, *, to: str, allowed: Sequence[str]) -> None:
    r = db.digest_run
    with engine.begin() as connection:
        changed = connection.execute(update(r).where(r.c.id == run_id, r.c.status.in_(list(allowed))).values(status=to)).rowcount
    if not changed:
        status = _run(engine, run_id)["status"]
        raise RunControlError(f"run {run_id} is {status}; only a {' or '.join(allowed)} run can become {to}")


# -- selectors --------------------------------------------------------------------------


def _run(engine: Engine, run_id: int):
    with engine.connect() as connection:
        run = connection.execute(select(db.digest_run).where(db.digest_run.c.id == run_id)).mappings().first()
    if run is None:
        raise RunControlError(f"no run {run_id}; `lanyard runs list` shows the runs")
    return run


def _active_ids(engine: Engine, list_name: str) -> list[int]:
    s = db.subscription
    with engine.connect() as connection:
        return list(connection.execute(select(s.c.id).where(s.c.list == list_name, s.c.status == SubscriptionStatus.ACTIVE).order_by(s.c.id)).scalars())


def failed_subscription_ids(engine: Engine, *, run_id: int, max_attempts: int | None = None) -> list[int]:
    d = db.delivery
    condition = and_(d.c.run_id == run_id, d.c.status == DeliveryStatus.FAILED)
    if max_attempts is not None:
        condition = and_(condition, d.c.attempts < max_attempts)
    with engine.connect() as connection:
        return list(connection.execute(select(d.c.subscription_id).where(condition).order_by(d.c.subscription_id)).scalars())


def failed_attempts(engine: Engine, *, run_id: int) -> int:
    """The most tries any of the run's failed deliveries has had (0: none failed)."""
    d = db.delivery
    with engine.connect() as connection:
        return connection.execute(
            select(func.coalesce(func.max(d.c.attempts), 0)).where(d.c.run_id == run_id, d.c.status == DeliveryStatus.FAILED)
        ).scalar_one()


@dataclass(frozen=True)
class RunProgress:
    id: int
    list: str
    digest_date: dt.date
    status: str
    dry_run: bool
    planned: int
    sent: int
    skipped: int
    failed: int
    bounced: int
    in_flight: int
    chunks_done: int
    chunks_total: int
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    notes: str
    # Reports that came back since (digest/bounces/): delivery feedback kind → deliveries.
    feedback: Mapping[str, int] = field(default_factory=dict)

    @property
    def processed(self) -> int:
        return self.sent + self.skipped + self.failed + self.bounced

    @property
    def elapsed(self) -> float:
        if self.started_at is None:
            return 0.0
        end = as_utc(self.finished_at) if self.finished_at else utcnow()
        return max((end - as_utc(self.started_at)).total_seconds(), 0.0)

    @property
    def rate(self) -> float:
        """Subscriptions settled per second since the run started."""
        return self.processed / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate (None before there is a rate, 0 when done)."""
        if self.status not in ACTIVE:
            return 0.0
        remaining = max(self.planned - self.processed, 0)
        return remaining / self.rate if self.rate > 0 else None


def run_progress(engine: Engine, *, run_id: int) -> RunProgress:
    """Where a run stands, counted from the ledger (live) or, for a dry run, the run row."""
    run = _run(engine, run_id)
    with engine.connect() as connection:
        totals = ledger.delivery_totals(connection, run_id=run_id)
        feedback = ledger.delivery_feedback_totals(connection, run_id=run_id)
    if run["dry_run"] or run["status"] in (RunStatus.FINISHED, RunStatus.FAILED) and not totals:
        sent, skipped, failed, bounced, in_flight = run["sent"], run["skipped"], run["failed"], 0, 0
    else:
        sent, skipped = totals.get(DeliveryStatus.SENT, 0), totals.get(DeliveryStatus.SKIPPED, 0)
        failed, bounced, in_flight = totals.get(DeliveryStatus.FAILED, 0), totals.get(DeliveryStatus.BOUNCED, 0), totals.get(DeliveryStatus.CLAIMED, 0)
    return RunProgress(
        id=run["id"], list=run["list"], digest_date=run["digest_date"], status=run["status"], dry_run=run["dry_run"],
        planned=run["planned"], sent=sent, skipped=skipped, failed=failed, bounced=bounced, in_flight=in_flight,
        chunks_done=run["chunks_done"], chunks_total=run["chunks_total"], started_at=run["started_at"],
        finished_at=run["finished_at"] if run["status"] not in ACTIVE else None, notes=run["notes"], feedback=feedback,
    )


def runs_list(engine: Engine, *, limit: int = 20, status: str | None = None) -> list[RunProgress]:
    r = db.digest_run
    query = select(r.c.id).order_by(r.c.id.desc()).limit(limit)
    if status:
        query = query.where(r.c.status == status)
    with engine.connect() as connection:
        ids = list(connection.execute(query).scalars())
    return [run_progress(engine, run_id=run_id) for run_id in ids]
