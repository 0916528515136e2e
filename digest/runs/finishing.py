"""Ending a run: from the ledger's totals once nothing is in flight, or handing back
the temporarily failed deliveries to go round again first."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, func, select, update

from digest.clock import utcnow
from digest.delivery import ledger
from digest.runs.chunks import chunks_add, count_chunks
from digest.runs.progress import RunSummary, summary_of_row
from digest.runs.state import refuse, run_get, transition, with_note
from digest.stores import db
from digest.vocabulary import ChunkStatus, DeliveryStatus, RunStatus


@dataclass(frozen=True)
class FinishPolicy:
    stale_after: dt.timedelta  # a claim older than this belongs to a worker that is gone
    max_attempts: int  # automatic retries of a temporarily failed delivery
    chunk_size: int = 500


@dataclass(frozen=True)
class Finishing:
    """What :func:`run_finish` decided: ``summary`` when the run ended; else wait for
    ``in_flight`` claims (or unfinished chunks), or send ``retry_chunk_ids`` first."""

    summary: RunSummary | None = None
    in_flight: int = 0
    chunks_left: int = 0
    retry_chunk_ids: list[int] = field(default_factory=list)
    retrying: int = 0
    attempts: int = 0  # the most tries any retried delivery has had

    @property
    def ended(self) -> bool:
        return self.summary is not None


def run_finish(engine: Engine, *, run_id: int, policy: FinishPolicy) -> Finishing:
    """End the run if nothing is in flight or retriable; total the ledger into it.

    Claims older than ``policy.stale_after`` are taken over (turned into failed
    deliveries); temporarily failed deliveries tried at most ``max_attempts`` times get
    new chunks (returned, for the caller to queue after a pause); those tried more are
    given up, and the notes say how many and why. A chunk that failed for good ends
    the run "failed". A paused run is left as it is; a cancelled one stays cancelled.
    """
    r, c = db.digest_run, db.digest_chunk
    with engine.begin() as connection:
        # Taking the row lock first keeps a late chunk's counters from interleaving.
        connection.execute(update(r).where(r.c.id == run_id).values(chunks_done=r.c.chunks_done))
        run = run_get(connection, run_id=run_id)
        status = RunStatus(run["status"])
        done, total = count_chunks(connection, run_id=run_id)
        if status == RunStatus.PAUSED or (status == RunStatus.RUNNING and done < total):
            return Finishing(chunks_left=total - done)
        if status in (RunStatus.FINISHED, RunStatus.FAILED):
            return Finishing(summary=summary_of_row(run))
        if status != RunStatus.CANCELLED and not run["dry_run"]:
            ledger.delivery_recover_stale(connection, older_than=policy.stale_after, run_id=run_id)
            totals = ledger.delivery_totals(connection, run_id=run_id)
            if totals.get(DeliveryStatus.CLAIMED):
                return Finishing(in_flight=totals[DeliveryStatus.CLAIMED])
            failed_for_good = _failed_chunk_subscriptions(connection, run_id)
            retry = [
                sid for sid in ledger.delivery_failed(connection, run_id=run_id, max_attempts=policy.max_attempts)
                if sid not in failed_for_good
            ]
            if retry:
                attempts = ledger.delivery_most_attempts(connection, run_id=run_id)
                chunks = [retry[i:i + policy.chunk_size] for i in range(0, len(retry), policy.chunk_size)]
                return Finishing(
                    retry_chunk_ids=chunks_add(connection, run_id=run_id, chunks=chunks), retrying=len(retry),
                    attempts=attempts,
                )
        failed_chunks = connection.execute(
            select(func.count()).where(c.c.run_id == run_id, c.c.status == ChunkStatus.FAILED)
        ).scalar_one()
        end = RunStatus.FAILED if failed_chunks else RunStatus.FINISHED
        values: dict[str, object] = {"finished_at": utcnow(), "started_at": run["started_at"] or run["created_at"]}
        if not run["dry_run"]:
            values.update(_ledger_counters(connection, run_id=run_id))
            gave_up = ledger.delivery_failure_reasons(connection, run_id=run_id)
            if gave_up and status != RunStatus.CANCELLED:
                reasons = "; ".join(f"{reason} ({count})" for reason, count in gave_up.most_common(3))
                values["notes"] = with_note(
                    run["notes"], f"gave up on {sum(gave_up.values())} deliveries after {policy.max_attempts + 1} "
                                  f"attempts or a permanent failure: {reasons}",
                )
        if status == RunStatus.CANCELLED:
            connection.execute(update(r).where(r.c.id == run_id).values(**values))
        elif not transition(connection, run_id, end, allowed=None, **values):
            refuse(connection, run_id, end)
        run = run_get(connection, run_id=run_id)
    return Finishing(summary=summary_of_row(run))


def _failed_chunk_subscriptions(connection: Connection, run_id: int) -> set[int]:
    c = db.digest_chunk
    rows = connection.execute(
        select(c.c.subscription_ids).where(c.c.run_id == run_id, c.c.status == ChunkStatus.FAILED)
    )
    return {sid for (ids,) in rows for sid in ids}


def run_retotal(engine: Engine, *, run_id: int, note: str) -> None:
    """An ended run's ledger changed (a bounce report turned a sent delivery bounced):
    its counters become the ledger's totals again, and its notes say why, once."""
    r = db.digest_run
    with engine.begin() as connection:
        run = connection.execute(
            select(r.c.notes, r.c.finished_at, r.c.dry_run).where(r.c.id == run_id).with_for_update()
        ).first()
        if run is None or run.finished_at is None or run.dry_run:
            return
        connection.execute(update(r).where(r.c.id == run_id).values(
            notes=with_note(run.notes, note, once=True), **_ledger_counters(connection, run_id=run_id),
        ))


def _ledger_counters(connection: Connection, *, run_id: int) -> dict[str, int]:
    totals = ledger.delivery_totals(connection, run_id=run_id)
    return {
        "sent": totals.get(DeliveryStatus.SENT, 0), "skipped": totals.get(DeliveryStatus.SKIPPED, 0),
        "bounced": totals.get(DeliveryStatus.BOUNCED, 0),
        "failed": totals.get(DeliveryStatus.FAILED, 0) + totals.get(DeliveryStatus.CLAIMED, 0),
    }


def runs_unfinished_with_all_chunks_done(engine: Engine) -> list[int]:
    """Running or cancelled runs whose chunks are all done but that were never finished
    (the finishing message was lost with a worker or a broker, or is waiting)."""
    c, r = db.digest_chunk, db.digest_run
    pending = select(c.c.id).where(
        c.c.run_id == r.c.id, c.c.status.not_in((ChunkStatus.DONE, ChunkStatus.FAILED))
    ).exists()
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(r.c.id).where(
                    r.c.status.in_((RunStatus.RUNNING, RunStatus.CANCELLED)), r.c.finished_at.is_(None), ~pending
                )
            ).scalars()
        )
