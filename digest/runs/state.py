"""The run row: its transitions table, reads, counters and notes, and the run's errors.

Every status change goes through :func:`transition`; the diagram is in ``digest/runs/__init__.py``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import Connection, Engine, case, select, update

from digest.clock import utcnow
from digest.stores import db
from digest.vocabulary import RunStatus

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



class RunControlError(ValueError):
    """The run does not exist or is not in a state for that action; one line for the operator."""


class RunNotFound(RunControlError, LookupError):
    pass


class RunStateError(RunControlError):
    """The run is not in a state for that change."""


class RunQueue(Protocol):
    """Where services hand a run's work to workers (``scheduler.enqueue.Enqueue`` sends Celery tasks)."""

    def chunks(self, chunk_ids: Sequence[int], *, countdown: float = 0) -> None: ...

    def finish(self, run_id: int, *, countdown: float = 0) -> None: ...


def _sources(to: RunStatus) -> list[RunStatus]:
    return [status for status, targets in TRANSITIONS.items() if to in targets]


def transition(
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


def refuse(connection: Connection, run_id: int, to: RunStatus, allowed: Collection[RunStatus] | None = None) -> None:
    """Raise the one-line reason a :func:`transition` to ``to`` did not happen."""
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
            notes = with_note(notes, note, once=True)
        connection.execute(update(r).where(r.c.id == run_id).values(timings=merged, notes=notes))


def run_note(engine: Engine, *, run_id: int, note: str) -> None:
    """Append a line to the run's record of what happened (a repeat is counted, not repeated)."""
    r = db.digest_run
    with engine.begin() as connection:
        notes = connection.execute(select(r.c.notes).where(r.c.id == run_id).with_for_update()).scalar()
        if notes is not None:
            connection.execute(update(r).where(r.c.id == run_id).values(notes=with_note(notes, note)))


def with_note(notes: str, note: str, *, once: bool = False) -> str:
    """``notes`` with ``note`` stamped on a new line (or counted on the last, when it repeats)."""
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
