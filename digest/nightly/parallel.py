"""Process a planned run's chunks on several local processes, without a task queue.

`lanyard digest run --processes N` uses this to put every core of one machine to work;
the Celery scheduler is the way to spread a run over machines. Each process builds its
own :class:`~digest.nightly.pipeline.Pipeline` once (its own database engine, Redis connection,
transport and loaded templates: none of those survive a fork). The delivery ledger
makes processes racing on one run safe, exactly as it does for Celery workers.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
from collections.abc import Iterator, Sequence

from digest.config import Settings
from digest.nightly.batch import ChunkOutcome, work_here
from digest.nightly.pipeline import Pipeline

_pipeline: Pipeline | None = None  # one per worker process, made by _start_worker


def _start_worker(settings: Settings) -> None:
    global _pipeline
    _pipeline = Pipeline(settings)


def _process(job: tuple[int, float]) -> ChunkOutcome:
    chunk_id, timeout = job
    assert _pipeline is not None, "the pool's initializer makes the pipeline"
    return work_here(_pipeline, chunk_id=chunk_id, timeout=dt.timedelta(seconds=timeout))


def process_chunks(
    settings: Settings, *, chunk_ids: Sequence[int], processes: int, timeout: dt.timedelta,
) -> Iterator[ChunkOutcome]:
    """Work the chunks (``digest/nightly/batch.py``), yielding each outcome as it completes.

    An exception in a worker (a store down for longer than :func:`work_here` waits)
    stops the pool and is raised here; chunks already done stay done.
    """
    # "spawn": a forked child would inherit the parent's open sockets and connection pools.
    context = multiprocessing.get_context("spawn")
    jobs = [(chunk_id, timeout.total_seconds()) for chunk_id in chunk_ids]
    with context.Pool(processes, initializer=_start_worker, initargs=(settings,)) as pool:
        yield from pool.imap_unordered(_process, jobs)
