"""The digest run and its chunks: the one module that writes ``digest_run`` and ``digest_chunk``.

A run's status moves only along :data:`TRANSITIONS`, and every change goes through
:func:`_transition` (one conditional UPDATE, so two workers or an operator racing a
worker cannot both win)::

    planned ──► running ──► finished        (all chunks done, nothing in flight or retriable)
                 │  ▲  └──► failed          (a chunk failed for a reason a retry would not cure)
                 ▼  │
                paused       cancelled ◄── planned, running, paused
    finished, failed ──► running            (an operator retries the failed deliveries)

Planning writes the run row *and* its chunk rows and makes it "running" in one
transaction, so a planner that dies half-way leaves nothing behind. ``lanyard digest
run`` and the Celery tasks both go through here (see ``digest/nightly/batch.py``): each chunk
is claimed, processed and completed the same way, and a run is finished by
:func:`run_finish`, which refuses while a delivery is in flight and hands back the
temporarily failed ones to go round again, until ``max_attempts``.

The delivery ledger (``digest/delivery/ledger.py``) stays the truth about each email; the run
row's counters are its totals, written when the run finishes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, and_, case, func, insert, or_, select, update

from digest.clock import utcnow
from digest.delivery import ledger
from digest.nightly.hydrate import batches
from digest.stores import db
from digest.vocabulary import (
    ACTIVE_RUN_STATUSES,
    FINAL_DELIVERY_STATUSES,
    ChunkStatus,
    DeliveryStatus,
    DigestList,
    RunStatus,
    SubscriptionStatus,
)

TRANSITIONS: Mapping[RunStatus, frozenset[RunStatus]] = {
    RunStatus.PLANNED: frozenset({RunStatus.RUNNING, RunStatus.PAUSED, RunStatus.CANCELLED, RunStatus.FAILED}),
    RunStatus.RUNNING: frozenset({RunStatus.PAUSED, RunStatus.CANCELLED, RunStatus.FINISHED, RunStatus.FAILED}),
    RunStatus.PAUSED: frozenset({RunStatus.RUNNING, RunStatus.CANCELLED}),
    # An operator's retry of the failed deliveries opens an ended run again.
    RunStatus.FINISHED: frozenset({RunStatus.RUNNING}),
    RunStatus.FAILED: frozenset({RunStatus.RUNNING}),
    RunStatus.CANCELLED: frozenset(),
}
NOTES_KEPT = 200  # lines of a run's notes kept (a fault repeating says so with a count)


class RunPaused(RuntimeError):
    """The run is paused; process the chunk again after it resumes."""


class RunNotFound(LookupError):
    pass


class RunStateError(ValueError):
    """The run is not in a state for that change; one line for the operator."""


# -- planning ----------------------------------------------------------------------------


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
        busy = _busy_subscription_ids(connection)
        if request.subscription_ids is None:
            found: list[int] = list(connection.execute(query).scalars())
        else:
            found = []
            for batch in batches(request.subscription_ids):
                found.extend(connection.execute(query.where(s.c.id.in_(batch))).scalars())
        ids = [sid for sid in found if sid not in busy]
        ids = ids[:request.limit] if request.limit is not None else ids
        chunks = [ids[i:i + request.chunk_size] for i in range(0, len(ids), request.chunk_size)]
        run_id = connection.execute(  # type: ignore[index]  # an INSERT always has its primary key
            db.digest_run.insert().values(
                list=request.list_name, digest_date=request.digest_date, status=RunStatus.PLANNED,
                dry_run=request.dry_run, planned=len(ids), sent=0, skipped=0, failed=0, bounced=0,
                chunks_total=0, chunks_done=0, timings={}, notes="", created_at=utcnow(), started_at=None,
                finished_at=None,
            )
        ).inserted_primary_key[0]
        chunk_ids = _chunks_add(connection, run_id=run_id, chunks=chunks)
        _transition(connection, run_id, RunStatus.RUNNING, started_at=utcnow())
    return Plan(run_id=run_id, chunk_ids=chunk_ids, chunks=chunks)


# -- the run row ------------------------------------------------------------------------------


def _sources(to: RunStatus) -> list[RunStatus]:
    return [status for status, targets in TRANSITIONS.items() if to in targets]


def _transition(
    connection: Connection,
    run_id: int,
    to: RunStatus,
    *,
    allowed: Collection[RunStatus] | None = None,
    **values: object,
) -> bool:
    """Move the run to ``to`` when its status allows it (and is in ``allowed``, if given)."""
    sources = [status for status in _sources(to) if allowed is None or status in allowed]
    r = db.digest_run
    return connection.execute(
        update(r).where(r.c.id == run_id, r.c.status.in_(sources)).values(status=to, **values)
    ).rowcount == 1


def _refuse(connection: Connection, run_id: int, to: RunStatus, allowed: Collection[RunStatus] | None = None) -> None:
    status = connection.execute(select(db.digest_run.c.status).where(db.digest_run.c.id == run_id)).scalar()
    if status is None:
        raise RunNotFound(f"no run {run_id}; `lanyard runs list` shows the runs")
    sources = [s for s in _sources(to) if allowed is None or s in allowed]
    raise RunStateError(f"run {run_id} is {status}; only a {' or '.join(sources)} run can become {to}")


def run_get(engine: Engine | Connection, *, run_id: int) -> Mapping:
    """The run's row; RunNotFound when there is none."""
    query = select(db.digest_run).where(db.digest_run.c.id == run_id)
    if isinstance(engine, Connection):
        run = engine.execute(query).mappings().first()
    else:
        with engine.connect() as connection:
            run = connection.execute(query).mappings().first()
    if run is None:
        raise RunNotFound(f"no run {run_id}; `lanyard runs list` shows the runs")
    return run


def run_status(connection: Connection, *, run_id: int) -> RunStatus | None:
    status = connection.execute(select(db.digest_run.c.status).where(db.digest_run.c.id == run_id)).scalar()
    return RunStatus(status) if status is not None else None


def run_pause(engine: Engine, *, run_id: int) -> None:
    """Stop sending: chunks stop at their next group of claims and wait."""
    with engine.begin() as connection:
        if not _transition(connection, run_id, RunStatus.PAUSED):
            _refuse(connection, run_id, RunStatus.PAUSED)


def run_resume(engine: Engine, *, run_id: int) -> list[int]:
    """Go on with a paused run; returns the chunks that waited, to queue again."""
    with engine.begin() as connection:
        if not _transition(connection, run_id, RunStatus.RUNNING, allowed=(RunStatus.PAUSED,)):
            _refuse(connection, run_id, RunStatus.RUNNING, (RunStatus.PAUSED,))
    return chunks_of_run(engine, run_id=run_id, statuses=(ChunkStatus.PAUSED,))


def run_cancel(engine: Engine, *, run_id: int) -> bool:
    """Stop for good (what was sent stays sent); True when no chunk is still working."""
    c = db.digest_chunk
    with engine.begin() as connection:
        if not _transition(connection, run_id, RunStatus.CANCELLED):
            _refuse(connection, run_id, RunStatus.CANCELLED)
        connection.execute(
            update(c).where(c.c.run_id == run_id, c.c.status.in_((ChunkStatus.QUEUED, ChunkStatus.PAUSED)))
            .values(status=ChunkStatus.DONE, finished_at=utcnow(), last_error="cancelled")
        )
        done, total = _count_chunks(connection, run_id=run_id)
    return done >= total


def run_reopen(engine: Engine, *, run_id: int, subscription_ids: Sequence[int], chunk_size: int,
               not_before: dt.datetime | None = None) -> list[int]:
    """Give a run more chunks (its failed deliveries, to try again) and make it running."""
    if not subscription_ids:
        return []
    c = db.digest_chunk
    chunks = [list(subscription_ids[i:i + chunk_size]) for i in range(0, len(subscription_ids), chunk_size)]
    with engine.begin() as connection:
        run = run_get(connection, run_id=run_id)
        if run["status"] != RunStatus.RUNNING and not _transition(
            connection, run_id, RunStatus.RUNNING, finished_at=None
        ):
            _refuse(connection, run_id, RunStatus.RUNNING)
        # Chunks that failed for good are superseded by the retry (their error stays).
        connection.execute(
            update(c).where(c.c.run_id == run_id, c.c.status == ChunkStatus.FAILED).values(status=ChunkStatus.DONE)
        )
        return _chunks_add(connection, run_id=run_id, chunks=chunks, not_before=not_before)


@dataclass
class ChunkRecord:
    """What one pass over a chunk adds to its run: counters (for dry runs, which write
    no ledger), seconds per stage, and lines for the notes."""

    sent: int = 0
    skipped: int = 0
    failed: int = 0
    bounced: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def run_record(engine: Engine, *, run_id: int, record: ChunkRecord) -> None:
    r = db.digest_run
    with engine.begin() as connection:
        # The increment takes the row's write lock first, so the read-modify-write of
        # the timings and notes below cannot interleave with another chunk's. A finished
        # run's counters are the ledger's totals (run_finish): a worker that comes back
        # after a takeover and records late must not add its sends to them again.
        running = r.c.finished_at.is_(None)
        connection.execute(
            update(r).where(r.c.id == run_id).values(
                sent=case((running, r.c.sent + record.sent), else_=r.c.sent),
                skipped=case((running, r.c.skipped + record.skipped), else_=r.c.skipped),
                failed=case((running, r.c.failed + record.failed), else_=r.c.failed),
                bounced=case((running, r.c.bounced + record.bounced), else_=r.c.bounced),
            )
        )
        found = connection.execute(select(r.c.timings, r.c.notes).where(r.c.id == run_id)).first()
        if found is None:
            return
        merged = dict(found.timings or {})
        for stage, seconds in record.timings.items():
            merged[stage] = round(merged.get(stage, 0.0) + seconds, 6)
        notes = found.notes
        for note in record.notes:
            notes = _with_note(notes, note, once=True)
        connection.execute(update(r).where(r.c.id == run_id).values(timings=merged, notes=notes))


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
            notes=_with_note(run.notes, note, once=True), **_ledger_counters(connection, run_id=run_id),
        ))


def _ledger_counters(connection: Connection, *, run_id: int) -> dict[str, int]:
    totals = ledger.delivery_totals(connection, run_id=run_id)
    return {
        "sent": totals.get(DeliveryStatus.SENT, 0), "skipped": totals.get(DeliveryStatus.SKIPPED, 0),
        "bounced": totals.get(DeliveryStatus.BOUNCED, 0),
        "failed": totals.get(DeliveryStatus.FAILED, 0) + totals.get(DeliveryStatus.CLAIMED, 0),
    }


def run_note(engine: Engine, *, run_id: int, note: str) -> None:
    """Append a line to the run's record of what happened (a repeat is counted, not repeated)."""
    r = db.digest_run
    with engine.begin() as connection:
        notes = connection.execute(select(r.c.notes).where(r.c.id == run_id).with_for_update()).scalar()
        if notes is not None:
            connection.execute(update(r).where(r.c.id == run_id).values(notes=_with_note(notes, note)))


def _with_note(notes: str, note: str, *, once: bool = False) -> str:
    lines = notes.splitlines()
    if once and any(line[20:].split(" (×")[0] == note for line in lines):
        return notes
    stamped = f"{utcnow():%Y-%m-%d %H:%M:%S} {note}"
    if lines and lines[-1][20:].split(" (×")[0] == note:
        count = int(lines[-1].split(" (×")[1].rstrip(")")) + 1 if " (×" in lines[-1] else 2
        lines[-1] = f"{stamped} (×{count})"
    else:
        lines.append(stamped)
    return "\n".join(lines[-NOTES_KEPT:])


# -- finishing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FinishPolicy:
    stale_after: dt.timedelta  # a claim older than this belongs to a worker that is gone
    max_attempts: int  # automatic retries of a temporarily failed delivery
    chunk_size: int = 500


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    status: str
    dry_run: bool
    planned: int
    sent: int
    skipped: int
    failed: int
    bounced: int
    timings: dict[str, float]
    notes: str


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
        done, total = _count_chunks(connection, run_id=run_id)
        if status == RunStatus.PAUSED or (status == RunStatus.RUNNING and done < total):
            return Finishing(chunks_left=total - done)
        if status in (RunStatus.FINISHED, RunStatus.FAILED):
            return Finishing(summary=_summary(run, status))
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
                    retry_chunk_ids=_chunks_add(connection, run_id=run_id, chunks=chunks), retrying=len(retry),
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
                values["notes"] = _with_note(
                    run["notes"], f"gave up on {sum(gave_up.values())} deliveries after {policy.max_attempts + 1} "
                                  f"attempts or a permanent failure: {reasons}",
                )
        if status == RunStatus.CANCELLED:
            connection.execute(update(r).where(r.c.id == run_id).values(**values))
        elif not _transition(connection, run_id, end, allowed=None, **values):
            _refuse(connection, run_id, end)
        run = run_get(connection, run_id=run_id)
    return Finishing(summary=_summary(run, RunStatus(run["status"])))


def _summary(run: Mapping, status: RunStatus) -> RunSummary:
    return RunSummary(
        run_id=run["id"], status=status, dry_run=run["dry_run"], planned=run["planned"], sent=run["sent"],
        skipped=run["skipped"], failed=run["failed"], bounced=run["bounced"], timings=dict(run["timings"] or {}),
        notes=run["notes"],
    )


def _failed_chunk_subscriptions(connection: Connection, run_id: int) -> set[int]:
    c = db.digest_chunk
    rows = connection.execute(
        select(c.c.subscription_ids).where(c.c.run_id == run_id, c.c.status == ChunkStatus.FAILED)
    )
    return {sid for (ids,) in rows for sid in ids}


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


# -- chunks ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chunk:
    id: int
    run_id: int
    number: int
    subscription_ids: list[int]
    status: str
    attempts: int


def _chunks_add(connection: Connection, *, run_id: int, chunks: Sequence[Sequence[int]],
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
    _count_chunks(connection, run_id=run_id)
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
        done, total = _count_chunks(connection, run_id=run_id)
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
            connection.execute(update(r).where(r.c.id == chunk["run_id"]).values(notes=_with_note(run.notes, note)))
        done, total = _count_chunks(connection, run_id=chunk["run_id"])
    return Completion(first, done, total)


def _count_chunks(connection: Connection, *, run_id: int) -> tuple[int, int]:
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
        return _busy_subscription_ids(connection)


def _busy_subscription_ids(connection: Connection) -> set[int]:
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
