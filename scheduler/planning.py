"""The beat tick's planning: which subscriptions are due now, as runs per (list, date).

The rule itself is the pure :func:`digest.nightly.schedule.due_by_date`; this module feeds it
rows from the database: active subscriptions on the enabled lists with their person's
timezone, the ledger entries for the dates any timezone can be on, and the
subscriptions already waiting in an active run.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select

from digest.nightly.schedule import Candidate, candidate_dates, due_by_date
from digest.runs import RunRequest, busy_subscription_ids
from digest.stores import db
from digest.vocabulary import SubscriptionStatus

from .runs import Enqueue, run_start
from .runtime import Schedule


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
        candidates, now, default_send_hour=schedule.default_send_hour, lists=schedule.lists,
        weekly_day=schedule.weekly_day, exclude=exclude, busy=busy_subscription_ids(engine),
    )


def plan_due(engine: Engine, enqueue: Enqueue, *, now: dt.datetime, schedule: Schedule) -> list[int]:
    """Start one run per (list, digest date) with subscriptions due; returns the run ids."""
    if schedule.paused:
        return []
    run_ids = []
    for (list_name, digest_date), ids in sorted(due_now(engine, now=now, schedule=schedule).items()):
        request = RunRequest(
            list_name=list_name, digest_date=digest_date, subscription_ids=ids, chunk_size=schedule.chunk_size
        )
        run_ids.append(run_start(engine, enqueue, request=request))
    return run_ids
