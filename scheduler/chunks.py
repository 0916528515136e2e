"""The chunks of a run, in the database: what each Celery task works on.

A chunk row outlives its broker message. A task *claims* its chunk with one
conditional UPDATE before working (so two deliveries of one message, or a message and
its replacement, never work at once), and *completes* it with another that only the
first finisher passes, which is what makes counting ``chunks_done`` exactly-once even
when a task runs twice. Chunks whose message was lost (a worker killed, a broker
restarted without persistence) are found by :func:`chunks_stale` and sent again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, and_, case, func, insert, or_, select, update

from digest import db
from digest.clock import utcnow
from digest.vocabulary import ACTIVE_RUN_STATUSES, ChunkStatus, RunStatus


@dataclass(frozen=True)
class Chunk:
    id: int
    run_id: int
    number: int
    subscription_ids: list[int]
    status: str
    attempts: int


def chunks_create(connection, *, run_id: int, chunks: Sequence[Sequence[int]]) -> list[int]:
    """Add chunks to a run (numbered after any it has) and count them in chunks_total."""
    c = db.digest_chunk
    start = connection.execute(select(func.coalesce(func.max(c.c.number), 0)).where(c.c.run_id == run_id)).scalar_one()
    now = utcnow()
    ids = []
    for offset, subscription_ids in enumerate(chunks, 1):
        ids.append(connection.execute(insert(c).values(
            run_id=run_id, number=start + offset, subscription_ids=list(subscription_ids), size=len(subscription_ids),
            status=ChunkStatus.QUEUED, claim="", attempts=0, sent=0, skipped=0, failed=0, bounced=0, last_error="",
            enqueued_at=now, claimed_at=None, finished_at=None,
        )).inserted_primary_key[0])
    run_count_chunks(connection, run_id=run_id)
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


def chunk_release(
    engine: Engine, *, chunk_id: int, claim: str, status: str = ChunkStatus.PAUSED, error: str = ""
) -> bool:
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


def chunk_complete(engine: Engine, *, chunk_id: int, sent=0, skipped=0, failed=0, bounced=0) -> Completion:
    c = db.digest_chunk
    with engine.begin() as connection:
        # Whoever finishes first counts (a takeover of a chunk thought lost may lose
        # the race to the original); the ledger made sure nobody sent twice.
        first = (
            connection.execute(
                update(c)
                .where(c.c.id == chunk_id, c.c.status != ChunkStatus.DONE)
                .values(
                    status=ChunkStatus.DONE,
                    sent=sent,
                    skipped=skipped,
                    failed=failed,
                    bounced=bounced,
                    finished_at=utcnow(),
                    last_error="",
                )
            ).rowcount
            == 1
        )
        run_id = connection.execute(select(c.c.run_id).where(c.c.id == chunk_id)).scalar_one()
        done, total = run_count_chunks(connection, run_id=run_id)
    return Completion(first, done, total)


def run_count_chunks(connection, *, run_id: int) -> tuple[int, int]:
    """Recount chunks_done and chunks_total from the chunk rows (idempotent)."""
    c, r = db.digest_chunk, db.digest_run
    total, done = connection.execute(
        select(func.count(), func.coalesce(func.sum(case((c.c.status == ChunkStatus.DONE, 1), else_=0)), 0)).where(
            c.c.run_id == run_id
        )
    ).one()
    connection.execute(update(r).where(r.c.id == run_id).values(chunks_done=done, chunks_total=total))
    return int(done), int(total)


def chunks_to_requeue(engine: Engine, *, timeout: dt.timedelta, include_paused: bool) -> list[int]:
    """Chunks of running runs whose work has gone missing.

    Queued longer than ``timeout`` (the message was lost), running with a claim older
    than ``timeout`` (the worker died), or, with ``include_paused``, paused although
    their run is running again.
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


def chunks_mark_queued(engine: Engine, *, chunk_ids: Sequence[int]) -> None:
    """Stamp chunks as queued now (their message is being sent again)."""
    if not chunk_ids:
        return
    c = db.digest_chunk
    with engine.begin() as connection:
        connection.execute(
            update(c).where(c.c.id.in_(list(chunk_ids)), c.c.status != ChunkStatus.DONE)
            .values(status=ChunkStatus.QUEUED, enqueued_at=utcnow())
        )


def chunks_of_run(engine: Engine, *, run_id: int, statuses: Sequence[str]) -> list[int]:
    c = db.digest_chunk
    with engine.connect() as connection:
        rows = connection.execute(
            select(c.c.id).where(c.c.run_id == run_id, c.c.status.in_(list(statuses))).order_by(c.c.number)
        )
        return [row[0] for row in rows]


def busy_subscription_ids(engine: Engine) -> set[int]:
    """Subscriptions waiting in unfinished chunks of active runs (planned, not yet in the ledger)."""
    c, r = db.digest_chunk, db.digest_run
    with engine.connect() as connection:
        rows = connection.execute(
            select(c.c.subscription_ids).join(r, r.c.id == c.c.run_id)
            .where(r.c.status.in_(ACTIVE_RUN_STATUSES), c.c.status != ChunkStatus.DONE)
        )
        return {sid for (ids,) in rows for sid in ids}


def runs_of_chunks(engine: Engine, *, chunk_ids: Sequence[int]) -> list[int]:
    c = db.digest_chunk
    with engine.connect() as connection:
        return list(connection.execute(select(c.c.run_id).where(c.c.id.in_(list(chunk_ids))).distinct()).scalars())


def runs_unfinished_with_all_chunks_done(engine: Engine) -> list[int]:
    """Running or cancelled runs whose chunks are all done but that were never finished
    (the finishing message was lost with a worker or a broker)."""
    c, r = db.digest_chunk, db.digest_run
    pending = select(c.c.id).where(c.c.run_id == r.c.id, c.c.status != ChunkStatus.DONE).exists()
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(r.c.id).where(
                    r.c.status.in_((RunStatus.RUNNING, RunStatus.CANCELLED)), r.c.finished_at.is_(None), ~pending
                )
            ).scalars()
        )
