"""Planning runs: what is due at a beat tick, and a run recorded with its chunks and
started in one transaction.

Which subscriptions are due is the pure :func:`digest.runs.due.due_by_date`; this
module feeds it rows from the database: active subscriptions on the enabled lists with
their person's timezone, the ledger entries for the dates any timezone can be on, and the
subscriptions already waiting in an active run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace

from sqlalchemy import Engine, select

from digest.clock import utcnow
from digest.runs.chunks import busy_in, busy_subscription_ids, chunks_add
from digest.runs.due import Candidate, DueRule, candidate_dates, due_by_date
from digest.runs.runtime import Schedule, schedule_get
from digest.runs.state import RunQueue, transition
from digest.stores import db
from digest.stores.db import batches
from digest.vocabulary import FINAL_DELIVERY_STATUSES, DigestList, RunStatus, SubscriptionStatus


@dataclass(frozen=True)
class RunRequest:
    """What to plan: the subscriptions of a list not yet settled for a date."""

    digest_date: dt.date
    list_name: str = DigestList.DAILY
    subscription_ids: Iterable[int] | None = None  # None: every active subscription of the list
    limit: int | None = None
    dry_run: bool = False
    chunk_size: int = 500

    def check(self) -> None:
        if self.list_name not in set(DigestList):
            raise ValueError(f"unknown list {self.list_name!r}; known: {', '.join(DigestList)}")
        if self.chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        if self.limit is not None and self.limit < 0:
            raise ValueError("limit must not be negative")


@dataclass(frozen=True)
class Plan:
    run_id: int
    chunk_ids: list[int]
    chunks: list[list[int]]

    @property
    def planned(self) -> int:
        return sum(len(chunk) for chunk in self.chunks)


TAPER_FROM = 8  # chunks in a run from which its last ones are smaller (see chunked)


def chunked(ids: list[int], size: int) -> list[list[int]]:
    """``ids`` in chunks of ``size``, in order; in a run of :data:`TAPER_FROM` chunks or
    more, the last ``2 * size`` ids in chunks of a quarter of it. Workers take chunks as
    they finish, so the run ends when the last chunk taken ends: with whole chunks to the
    end, one of two processes waited idle for half a chunk on average (measured: 500
    subscriptions, about 0.7 s of a 13 s run)."""
    tail = len(ids) - 2 * size if len(ids) >= TAPER_FROM * size else len(ids)
    small = max(1, size // 4)
    return ([ids[i:min(i + size, tail)] for i in range(0, tail, size)]
            + [ids[i:i + small] for i in range(tail, len(ids), small)])


def run_plan(engine: Engine, request: RunRequest) -> Plan:
    """Record a run with its chunks and start it, in one transaction.

    Its subscriptions: active on the list, without a final ledger entry for the date,
    and not waiting in another active run's chunks (a manual start during a scheduled
    run, or two ticks, never doubles the work).
    """
    request.check()
    s, d = db.subscription, db.delivery
    settled = select(d.c.subscription_id).where(
        d.c.digest_date == request.digest_date, d.c.status.in_(FINAL_DELIVERY_STATUSES)
    )
    query = select(s.c.id).where(
        s.c.list == request.list_name, s.c.status == SubscriptionStatus.ACTIVE, s.c.id.not_in(settled)
    ).order_by(s.c.id)
    with engine.begin() as connection:
        busy = busy_in(connection)
        if request.subscription_ids is None:
            found: list[int] = list(connection.execute(query).scalars())
        else:
            found = []
            for batch in batches(request.subscription_ids):
                found.extend(connection.execute(query.where(s.c.id.in_(batch))).scalars())
        ids = [sid for sid in found if sid not in busy]
        ids = ids[:request.limit] if request.limit is not None else ids
        chunks = chunked(ids, request.chunk_size)
        run_id = connection.execute(  # type: ignore[index]  # an INSERT always has its primary key
            db.digest_run.insert().values(
                list=request.list_name, digest_date=request.digest_date, status=RunStatus.PLANNED,
                dry_run=request.dry_run, planned=len(ids), sent=0, skipped=0, failed=0, bounced=0,
                chunks_total=0, chunks_done=0, timings={}, notes="", created_at=utcnow(), started_at=None,
                finished_at=None,
            )
        ).inserted_primary_key[0]
        chunk_ids = chunks_add(connection, run_id=run_id, chunks=chunks)
        transition(connection, run_id, RunStatus.RUNNING, started_at=utcnow())
    return Plan(run_id=run_id, chunk_ids=chunk_ids, chunks=chunks)


def run_start(engine: Engine, queue: RunQueue, *, request: RunRequest) -> int:
    """Plan a run (with its chunks, in one transaction) and queue its chunks; returns the run id.

    ``request.chunk_size`` 0 takes the runtime schedule's.
    """
    if not request.chunk_size:
        request = replace(request, chunk_size=schedule_get(engine).chunk_size)
    plan = run_plan(engine, request)
    if plan.chunk_ids:
        queue.chunks(plan.chunk_ids)
    else:
        queue.finish(plan.run_id)
    return plan.run_id


def due_now(engine: Engine, *, now: dt.datetime, schedule: Schedule) -> dict[tuple[str, dt.date], list[int]]:
    s, p, d = db.subscription, db.person, db.delivery
    dates = candidate_dates(now)
    with engine.connect() as connection:
        rows = connection.execute(
            select(s.c.id, s.c.list, s.c.send_hour, p.c.timezone).join(p, p.c.id == s.c.person_id)
            .where(s.c.status == SubscriptionStatus.ACTIVE, s.c.list.in_(list(schedule.lists)))
        )
        candidates = [Candidate(sid, list_name, hour, tz) for sid, list_name, hour, tz in rows]
        # Any ledger entry counts: a failed one belongs to its run's retries, not a new run.
        exclude = {
            (row[0], row[1])
            for row in connection.execute(
                select(d.c.subscription_id, d.c.digest_date).where(d.c.digest_date.in_(dates))
            )
        }
    return due_by_date(
        candidates, now, exclude=exclude, busy=busy_subscription_ids(engine),
        rule=DueRule(schedule.default_send_hour, schedule.lists, schedule.weekly_day),
    )


def plan_due(engine: Engine, queue: RunQueue, *, now: dt.datetime, schedule: Schedule) -> list[int]:
    """Start one run per (list, digest date) with subscriptions due; returns the run ids."""
    if schedule.paused:
        return []
    run_ids = []
    for (list_name, digest_date), ids in sorted(due_now(engine, now=now, schedule=schedule).items()):
        request = RunRequest(
            list_name=list_name, digest_date=digest_date, subscription_ids=ids, chunk_size=schedule.chunk_size
        )
        run_ids.append(run_start(engine, queue, request=request))
    return run_ids
