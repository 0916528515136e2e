"""A whole run on this machine (``lanyard digest run``, the benches): planned, its chunks
worked here on one or more local processes, and finished the way the scheduler finishes
one (temporary failures go round again, up to the runtime schedule's ``max_attempts``)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import redis
from sqlalchemy import Engine

from digest.config import Settings
from digest.nightly.batch import ChunkOutcome, Verdict, finish_here, work_here
from digest.nightly.parallel import ChunkPool
from digest.nightly.pipeline import Pipeline
from digest.runs.finishing import FinishPolicy
from digest.runs.planning import RunRequest, run_plan
from digest.runs.progress import RunSummary
from digest.runs.runtime import schedule_get

Progress = Callable[[int, int], None]  # (digests settled, planned)


class RunStoppedHere(RuntimeError):
    """The run cannot go on in this process (paused meanwhile, or held elsewhere); one line."""


@dataclass(frozen=True)
class BatchOutcome:
    summary: RunSummary
    seconds: float


def run_batch(
    settings: Settings, *, engine: Engine, redis_client: redis.Redis, request: RunRequest, processes: int = 1,
    progress: Progress | None = None,
) -> BatchOutcome:
    """Plan a run with its chunks, work every chunk here (on ``processes`` local processes),
    and finish it; :class:`RunStoppedHere` when it was paused or another process holds work."""
    schedule = schedule_get(engine)
    timeout = dt.timedelta(seconds=schedule.chunk_timeout)
    # Nobody else works on this run: a claim of it still open once every chunk is done
    # belongs to a process that died, and is taken over at once.
    policy = FinishPolicy(
        stale_after=dt.timedelta(0), max_attempts=schedule.max_attempts, chunk_size=request.chunk_size
    )
    started = time.perf_counter()
    # Several processes: started first, so that they get ready while the run is planned.
    pool = ChunkPool(settings, processes=processes) if processes > 1 else None
    pipeline = Pipeline(settings, engine=engine, redis=redis_client) if pool is None else None
    try:
        plan = run_plan(engine, request)
        done = 0
        if progress:
            progress(done, plan.planned)

        def work(chunk_ids: Sequence[int]) -> None:
            nonlocal done
            outcomes: Iterable[ChunkOutcome]
            if pool is not None:
                outcomes = pool.process(chunk_ids, timeout=timeout)
            else:
                assert pipeline is not None
                outcomes = (work_here(pipeline, chunk_id=chunk_id, timeout=timeout) for chunk_id in chunk_ids)
            for outcome in outcomes:
                if outcome.verdict == Verdict.PAUSED:
                    raise RunStoppedHere(
                        f"run {plan.run_id} was paused; `lanyard runs resume {plan.run_id}` sends the rest through "
                        f"the workers, or `lanyard runs cancel {plan.run_id}` and run again"
                    )
                done = min(done + outcome.size, plan.planned)
                if progress:
                    progress(done, plan.planned)
                if outcome.result is not None and outcome.result.cancelled:
                    break

        work(plan.chunk_ids)
        finishing = finish_here(engine, run_id=plan.run_id, policy=policy, work=work)
    finally:
        if pipeline is not None:
            pipeline.close()
        if pool is not None:
            pool.close()
    if finishing.summary is None:
        raise RunStoppedHere(
            f"run {plan.run_id} has work left that another process holds; `lanyard runs show {plan.run_id}` says more"
        )
    return BatchOutcome(summary=finishing.summary, seconds=time.perf_counter() - started)
