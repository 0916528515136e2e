"""A run's chunks: added to a run, claimed by one worker at a time, completed or failed,
and found again when their work went missing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, and_, case, func, insert, or_, select, update

from digest.clock import utcnow
from digest.delivery import ledger
from digest.runs.state import ChunkRecord, with_note
from digest.stores import db
from digest.vocabulary import ACTIVE_RUN_STATUSES, ChunkStatus, RunStatus


@dataclass(frozen=True)
class Chunk:
    id: int
    run_id: int
    number: int
    subscription_ids: list[int]
    status: str
    attempts: int


def chunks_add(connection: Connection, *, run_id: int, chunks: Sequence[Sequence[int]],
                not_before: dt.datetime | None = None) -> list[int]:
    """Add chunks to a run (numbered after any it has) and count them in chunks_total.

    ``not_before``: when their messages are due (a retry after a pause); until then a
    sweep does not take them for lost.
    """
    c = db.digest_chunk
    start = connection.execute(select(func.coalesce(func.max(c.c.number), 0)).where(c.c.run_id == run_id)).scalar_one()
    due = not_before or utcnow()
    ids = []
    for offset, subscription_ids in enumerate(chunks, 1):
        ids.append(connection.execute(insert(c).values(  # type: ignore[index]  # an INSERT has its key
            run_id=run_id, number=start + offset, subscription_ids=list(subscription_ids), size=len(subscription_ids),
            status=ChunkStatus.QUEUED, claim="", attempts=0, sent=0, skipped=0, failed=0, bounced=0, last_error="",
            enqueued_at=due, claimed_at=None, finished_at=None,
        )).inserted_primary_key[0])
    count_chunks(connection, run_id=run_id)
    return ids


def chunk_claim(engine: Engine, *, chunk_id: int, claim: str, timeout: dt.timedelta) -> Chunk | None:
    """Take a chunk to work on; None when it is done or someone alive holds it.

    A chunk is free when queued or paused, when its claim is this very task (a Celery
    retry keeps the task id), or when its claim is older than ``timeout``.
    """
    c = db.digest_chunk
    now = utcnow()
    with engine.begin() as connection:
        taken = connection.execute(
            update(c).where(
                c.c.id == chunk_id,
                or_(
                    c.c.status.in_((ChunkStatus.QUEUED, ChunkStatus.PAUSED)),
                    and_(c.c.status == ChunkStatus.RUNNING, or_(c.c.claim == claim, c.c.claimed_at < now - timeout)),
                ),
            ).values(status=ChunkStatus.RUNNING, claim=claim, claimed_at=now, attempts=c.c.attempts + 1)
        ).rowcount
        if not taken:
            return None
        row = connection.execute(select(c).where(c.c.id == chunk_id)).mappings().one()
    return Chunk(row["id"], row["run_id"], row["number"], list(row["subscription_ids"]), row["status"], row["attempts"])


def chunk_release(engine: Engine, *, chunk_id: int, claim: str, status: ChunkStatus = ChunkStatus.PAUSED,
                  error: str = "") -> bool:
    """Give a claimed chunk back (paused, or queued for a retry)."""
    c = db.digest_chunk
    with engine.begin() as connection:
        return connection.execute(
            update(c).where(c.c.id == chunk_id, c.c.claim == claim, c.c.status == ChunkStatus.RUNNING)
            .values(status=status, last_error=error[:2000], enqueued_at=utcnow())
        ).rowcount == 1


@dataclass(frozen=True)
class Completion:
    first: bool  # this call counted the chunk; False when it was already done
    chunks_done: int
    chunks_total: int

    @property
    def last(self) -> bool:
        """This completion was the run's last chunk: time to finish the run."""
        return self.first and self.chunks_done >= self.chunks_total


def chunk_complete(engine: Engine, *, chunk_id: int, record: ChunkRecord) -> Completion:
    c = db.digest_chunk
    with engine.begin() as connection:
        # Whoever finishes first counts (a takeover of a chunk thought lost may lose
        # the race to the original); the ledger made sure nobody sent twice.
        first = connection.execute(
            update(c).where(c.c.id == chunk_id, c.c.status.not_in((ChunkStatus.DONE, ChunkStatus.FAILED))).values(
                status=ChunkStatus.DONE, sent=record.sent, skipped=record.skipped, failed=record.failed,
                bounced=record.bounced, finished_at=utcnow(), last_error="",
            )
        ).rowcount == 1
        run_id = connection.execute(select(c.c.run_id).where(c.c.id == chunk_id)).scalar_one()
        done, total = count_chunks(connection, run_id=run_id)
    return Completion(first, done, total)


def chunk_fail(engine: Engine, *, chunk_id: int, error: str) -> Completion:
    """A chunk failed for a reason a retry would not cure (a bug, bad configuration):
    its unsettled deliveries are marked failed with the reason, the run's notes say it,
    and the chunk counts as done so the run ends (as "failed") instead of waiting."""
    c, r = db.digest_chunk, db.digest_run
    with engine.begin() as connection:
        chunk = connection.execute(select(c).where(c.c.id == chunk_id)).mappings().one()
        run = connection.execute(select(r.c.digest_date, r.c.dry_run, r.c.notes).where(r.c.id == chunk["run_id"])).one()
        first = connection.execute(
            update(c).where(c.c.id == chunk_id, c.c.status.not_in((ChunkStatus.DONE, ChunkStatus.FAILED)))
            .values(status=ChunkStatus.FAILED, finished_at=utcnow(), last_error=error[:2000])
        ).rowcount == 1
        if first:
            marked = 0 if run.dry_run else ledger.delivery_fail(
                connection, run_id=chunk["run_id"], digest_date=run.digest_date,
                subscription_ids=chunk["subscription_ids"], reason=f"chunk failed: {error}",
            )
            note = f"chunk {chunk['number']} failed: {error}; {marked} deliveries marked failed"
            connection.execute(update(r).where(r.c.id == chunk["run_id"]).values(notes=with_note(run.notes, note)))
        done, total = count_chunks(connection, run_id=chunk["run_id"])
    return Completion(first, done, total)


def count_chunks(connection: Connection, *, run_id: int) -> tuple[int, int]:
    """Recount chunks_done and chunks_total from the chunk rows (idempotent)."""
    c, r = db.digest_chunk, db.digest_run
    # The run row's lock before counting: a chunk ending and a cancel (or two chunks
    # ending) at the same moment then count one after the other, so one of them always
    # sees the last chunk end and the run is finished (PostgreSQL; SQLite serialises writes).
    connection.execute(update(r).where(r.c.id == run_id).values(chunks_done=r.c.chunks_done))
    ended = c.c.status.in_((ChunkStatus.DONE, ChunkStatus.FAILED))
    total, done = connection.execute(
        select(func.count(), func.coalesce(func.sum(case((ended, 1), else_=0)), 0)).where(c.c.run_id == run_id)
    ).one()
    connection.execute(update(r).where(r.c.id == run_id).values(chunks_done=done, chunks_total=total))
    return int(done), int(total)


def chunks_to_requeue(engine: Engine, *, timeout: dt.timedelta, include_paused: bool) -> list[int]:
    """Chunks of running runs whose work has gone missing.

    Queued and due longer than ``timeout`` ago (the message was lost), running with a
    claim older than ``timeout`` (the worker died), or, with ``include_paused``, paused
    although their run is running again.
    """
    c, r = db.digest_chunk, db.digest_run
    before = utcnow() - timeout
    lost = or_(
        and_(c.c.status == ChunkStatus.QUEUED, c.c.enqueued_at < before),
        and_(c.c.status == ChunkStatus.RUNNING, c.c.claimed_at < before),
    )
    if include_paused:
        lost = or_(lost, c.c.status == ChunkStatus.PAUSED)
    with engine.connect() as connection:
        rows = connection.execute(
            select(c.c.id).join(r, r.c.id == c.c.run_id).where(r.c.status == RunStatus.RUNNING, lost).order_by(c.c.id)
        )
        return [row[0] for row in rows]


def chunks_mark_queued(engine: Engine, *, chunk_ids: Sequence[int], not_before: dt.datetime | None = None) -> None:
    """Stamp chunks as queued (their message is being sent), due now or at ``not_before``."""
    if not chunk_ids:
        return
    c = db.digest_chunk
    with engine.begin() as connection:
        connection.execute(
            update(c).where(c.c.id.in_(list(chunk_ids)), c.c.status.not_in((ChunkStatus.DONE, ChunkStatus.FAILED)))
            .values(status=ChunkStatus.QUEUED, enqueued_at=not_before or utcnow())
        )


def chunks_of_run(engine: Engine, *, run_id: int, statuses: Sequence[ChunkStatus]) -> list[int]:
    c = db.digest_chunk
    with engine.connect() as connection:
        rows = connection.execute(
            select(c.c.id).where(c.c.run_id == run_id, c.c.status.in_(list(statuses))).order_by(c.c.number)
        )
        return [row[0] for row in rows]


def busy_subscription_ids(engine: Engine) -> set[int]:
    """Subscriptions waiting in unfinished chunks of active runs (planned, not yet in the ledger)."""
    with engine.connect() as connection:
        return busy_in(connection)


def busy_in(connection: Connection) -> set[int]:
    """:func:`busy_subscription_ids`, read inside the caller's transaction."""
    c, r = db.digest_chunk, db.digest_run
    rows = connection.execute(
        select(c.c.subscription_ids).join(r, r.c.id == c.c.run_id)
        .where(r.c.status.in_(ACTIVE_RUN_STATUSES), c.c.status.not_in((ChunkStatus.DONE, ChunkStatus.FAILED)))
    )
    return {sid for (ids,) in rows for sid in ids}


def runs_of_chunks(engine: Engine, *, chunk_ids: Sequence[int]) -> list[int]:
    c = db.digest_chunk
    with engine.connect() as connection:
        return list(connection.execute(select(c.c.run_id).where(c.c.id.in_(list(chunk_ids))).distinct()).scalars())
