"""Working a run's chunks: the one way ``lanyard digest run`` and the Celery tasks do it.

A chunk is claimed in ``digest_chunk`` (``digest/runs/chunks.py``), processed by the
:class:`~digest.nightly.pipeline.Pipeline`, and completed; a chunk that raises something a
retry would not cure is failed (its deliveries marked failed with the reason) instead
of leaving the run "running". A temporary fault (a store or the mail server away) is
raised to the caller, which retries: Celery with its own backoff, this machine with
:func:`work_here`. :func:`finish_here` ends a run worked on this machine the way the
Celery finishing task does: temporarily failed deliveries go round again after a pause.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Engine

from digest.errors import RunPaused
from digest.faults import backoff, temporary
from digest.nightly.pipeline import ChunkResult, Pipeline
from digest.runs.chunks import Completion, chunk_claim, chunk_complete, chunk_fail, chunk_release
from digest.runs.finishing import Finishing, FinishPolicy, run_finish
from digest.runs.state import run_note
from digest.vocabulary import ChunkStatus

log = logging.getLogger("lanyard.digest")

LOCAL_TRIES = 7  # a fault lasting longer (about two minutes of backoff) stops `lanyard digest run`


class Verdict(StrEnum):
    DONE = "done"
    TAKEN = "done or taken"  # finished already, or someone alive holds it
    PAUSED = "paused"
    FAILED = "failed"


@dataclass(frozen=True)
class ChunkOutcome:
    verdict: Verdict
    run_id: int | None = None
    size: int = 0
    result: ChunkResult | None = None
    completion: Completion | None = None

    @property
    def last(self) -> bool:
        """The run's last chunk ended with this one: time to finish the run."""
        return self.completion is not None and self.completion.last


def work_chunk(pipeline: Pipeline, *, chunk_id: int, claim: str, timeout: dt.timedelta) -> ChunkOutcome:
    """Claim a chunk, process it and complete it (or fail it for good).

    Temporary faults are raised with the chunk still claimed by ``claim``, so the same
    claim may take it again at once; anyone else after ``timeout``.
    """
    chunk = chunk_claim(pipeline.engine, chunk_id=chunk_id, claim=claim, timeout=timeout)
    if chunk is None:
        return ChunkOutcome(Verdict.TAKEN)
    pipeline.claim_timeout = timeout
    try:
        result = pipeline.process_chunk(run_id=chunk.run_id, subscription_ids=chunk.subscription_ids)
    except RunPaused:
        chunk_release(
            pipeline.engine, chunk_id=chunk_id, claim=claim, status=ChunkStatus.PAUSED, error="run paused"
        )
        return ChunkOutcome(Verdict.PAUSED, chunk.run_id, len(chunk.subscription_ids))
    except Exception as error:
        if temporary(error) is not None:
            raise
        log.exception("chunk %s of run %s failed", chunk_id, chunk.run_id)
        completion = chunk_fail(pipeline.engine, chunk_id=chunk_id, error=f"{type(error).__name__}: {error}")
        return ChunkOutcome(Verdict.FAILED, chunk.run_id, len(chunk.subscription_ids), completion=completion)
    completion = chunk_complete(pipeline.engine, chunk_id=chunk_id, record=result)
    return ChunkOutcome(Verdict.DONE, chunk.run_id, len(chunk.subscription_ids), result, completion)


def work_here(pipeline: Pipeline, *, chunk_id: int, timeout: dt.timedelta) -> ChunkOutcome:
    """:func:`work_chunk` on this machine, waiting out temporary faults with backoff."""
    claim = f"local-{os.getpid()}"
    for attempt in range(LOCAL_TRIES):
        try:
            return work_chunk(pipeline, chunk_id=chunk_id, claim=claim, timeout=timeout)
        except Exception as error:
            reason = temporary(error)
            if reason is None or attempt == LOCAL_TRIES - 1:
                raise
            delay = backoff(attempt)
            log.warning("chunk %s: %s; trying again in %.0fs", chunk_id, reason, delay)
            time.sleep(delay)
    raise AssertionError("unreachable: the last try returns or raises")


def retry_delay(attempts: int) -> float:
    """The pause before temporarily failed deliveries go round again: growing with each try."""
    return backoff(max(attempts - 1, 0), base=4.0, cap=300.0)


def finish_here(engine: Engine, *, run_id: int, policy: FinishPolicy,
                work: Callable[[Sequence[int]], None]) -> Finishing:
    """Finish a run worked on this machine: retry its temporary failures (``work`` gets
    the new chunks, after a pause) until it ends or waits on something else."""
    while True:
        finishing = run_finish(engine, run_id=run_id, policy=policy)
        if not finishing.retry_chunk_ids:
            return finishing
        delay = retry_delay(finishing.attempts)
        run_note(engine, run_id=run_id, note=f"{finishing.retrying} deliveries failed temporarily "
                                                  f"(try {finishing.attempts}); retrying them in {delay:.0f}s")
        time.sleep(delay)
        work(finishing.retry_chunk_ids)
