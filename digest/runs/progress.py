"""Where a run stands: :class:`RunSummary`, the one description of a run that finishing,
the CLI, the admin and the benches all read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import Engine, select

from digest.clock import as_utc, utcnow
from digest.delivery import ledger
from digest.runs.state import run_get
from digest.stores import db
from digest.vocabulary import ACTIVE_RUN_STATUSES, DeliveryStatus, RunStatus


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    list: str
    digest_date: dt.date
    status: str
    dry_run: bool
    planned: int
    sent: int
    skipped: int
    failed: int
    bounced: int
    in_flight: int = 0
    chunks_done: int = 0
    chunks_total: int = 0
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    notes: str = ""
    timings: Mapping[str, float] = field(default_factory=dict)  # seconds per pipeline stage
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
        if self.status not in ACTIVE_RUN_STATUSES:
            return 0.0
        remaining = max(self.planned - self.processed, 0)
        return remaining / self.rate if self.rate > 0 else None


def summary_of_row(run: Mapping, **live: object) -> RunSummary:
    """The run as its row says; ``live`` overrides counters read elsewhere (the ledger)."""
    values: dict[str, object] = {
        "run_id": run["id"], "list": run["list"], "digest_date": run["digest_date"], "status": run["status"],
        "dry_run": run["dry_run"], "planned": run["planned"], "sent": run["sent"], "skipped": run["skipped"],
        "failed": run["failed"], "bounced": run["bounced"], "chunks_done": run["chunks_done"],
        "chunks_total": run["chunks_total"], "started_at": run["started_at"],
        "finished_at": run["finished_at"] if run["status"] not in ACTIVE_RUN_STATUSES else None,
        "notes": run["notes"], "timings": dict(run["timings"] or {}),
    }
    return RunSummary(**{**values, **live})  # type: ignore[arg-type]  # the row's columns have these types


def run_progress(engine: Engine, *, run_id: int) -> RunSummary:
    """Where a run stands, counted from the ledger (live) or, for a dry run, the run row."""
    run = run_get(engine, run_id=run_id)
    with engine.connect() as connection:
        totals = ledger.delivery_totals(connection, run_id=run_id)
        feedback = ledger.delivery_feedback_totals(connection, run_id=run_id)
    if run["dry_run"] or run["status"] in (RunStatus.FINISHED, RunStatus.FAILED) and not totals:
        return summary_of_row(run, feedback=feedback)
    return summary_of_row(
        run, sent=totals.get(DeliveryStatus.SENT, 0), skipped=totals.get(DeliveryStatus.SKIPPED, 0),
        failed=totals.get(DeliveryStatus.FAILED, 0), bounced=totals.get(DeliveryStatus.BOUNCED, 0),
        in_flight=totals.get(DeliveryStatus.CLAIMED, 0), feedback=feedback,
    )


def runs_list(engine: Engine, *, limit: int = 20, status: str | None = None) -> list[RunSummary]:
    """The latest runs, newest first (of one status, if given)."""
    r = db.digest_run
    query = select(r.c.id).order_by(r.c.id.desc()).limit(limit)
    if status:
        query = query.where(r.c.status == status)
    with engine.connect() as connection:
        ids = list(connection.execute(query).scalars())
    return [run_progress(engine, run_id=run_id) for run_id in ids]
