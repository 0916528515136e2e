"""Operator controls over digest runs, and what they read.

Services (``run_<action>``) change a run through its owner, ``digest/runs.py``, and
hand work to Celery through ``enqueue``, an object with ``chunks(chunk_ids, countdown=0)``
and ``finish(run_id)`` (see :class:`scheduler.app.Enqueue`), so the CLI, the Django
admin and the tasks share them. Selectors (``runs_list``, ``run_progress``) only read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Protocol

from sqlalchemy import Engine, select

from digest import runs
from digest.clock import as_utc, utcnow
from digest.delivery import ledger
from digest.runs import RunNotFound, RunRequest, RunStateError
from digest.stores import db
from digest.vocabulary import ACTIVE_RUN_STATUSES, DeliveryStatus, RunStatus

from .runtime import schedule_get

ACTIVE = ACTIVE_RUN_STATUSES


class RunControlError(ValueError):
    """The run does not exist or is not in a state for that action; one line for the operator."""


class Enqueue(Protocol):
    def chunks(self, chunk_ids: Sequence[int], *, countdown: float = 0) -> None: ...

    def finish(self, run_id: int, *, countdown: float = 0) -> None: ...


@contextmanager
def _control() -> Iterator[None]:
    try:
        yield
    except (RunNotFound, RunStateError) as error:
        raise RunControlError(str(error)) from None


# -- services ---------------------------------------------------------------------------


def run_start(
    engine: Engine,
    enqueue: Enqueue,
    *,
    request: RunRequest,
) -> int:
    """Plan a run (with its chunks, in one transaction) and queue its chunks; returns the run id.

    ``request.chunk_size`` 0 takes the runtime schedule's.
    """
    if not request.chunk_size:
        request = replace(request, chunk_size=schedule_get(engine).chunk_size)
    plan = runs.run_plan(engine, request)
    if plan.chunk_ids:
        enqueue.chunks(plan.chunk_ids)
    else:
        enqueue.finish(plan.run_id)
    return plan.run_id


def run_pause(engine: Engine, *, run_id: int) -> None:
    """Stop sending: chunks stop at their next group of claims and wait."""
    with _control():
        runs.run_pause(engine, run_id=run_id)


def run_resume(engine: Engine, enqueue: Enqueue, *, run_id: int) -> None:
    with _control():
        enqueue.chunks(runs.run_resume(engine, run_id=run_id))


def run_cancel(engine: Engine, enqueue: Enqueue, *, run_id: int) -> None:
    """Stop for good: nothing more is sent; what was sent stays sent."""
    with _control():
        if runs.run_cancel(engine, run_id=run_id):
            enqueue.finish(run_id)


def run_retry_failed(engine: Engine, enqueue: Enqueue, *, run_id: int) -> int:
    """Queue every failed delivery of the run again (the operator's retry); returns how many."""
    with _control():
        run = runs.run_get(engine, run_id=run_id)
    if run["status"] == RunStatus.CANCELLED:
        raise RunControlError(f"run {run_id} is cancelled; start a new run instead")
    if run["status"] == RunStatus.PAUSED:
        raise RunControlError(f"run {run_id} is paused; resume it first")
    if run["dry_run"]:
        raise RunControlError(f"run {run_id} is a dry run; it sent nothing to retry")
    with engine.connect() as connection:
        ids = ledger.delivery_failed(connection, run_id=run_id)
    if not ids:
        return 0
    with _control():
        chunk_ids = runs.run_reopen(
            engine, run_id=run_id, subscription_ids=ids, chunk_size=schedule_get(engine).chunk_size
        )
    enqueue.chunks(chunk_ids)
    return len(ids)


# -- selectors --------------------------------------------------------------------------


def _run(engine: Engine, run_id: int):
    with _control():
        return runs.run_get(engine, run_id=run_id)


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
        sent, skipped, failed, bounced, in_flight = run["sent"], run["skipped"], run["failed"], run["bounced"], 0
    else:
        sent, skipped = totals.get(DeliveryStatus.SENT, 0), totals.get(DeliveryStatus.SKIPPED, 0)
        failed, bounced = totals.get(DeliveryStatus.FAILED, 0), totals.get(DeliveryStatus.BOUNCED, 0)
        in_flight = totals.get(DeliveryStatus.CLAIMED, 0)
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
