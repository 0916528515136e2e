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


class ChunkPool:
    """Local worker processes for a run's chunks (``digest/nightly/batch.py``), started at
    once: each imports lanyard and builds its pipeline (about a second, CSS inlining of the
    templates included) while the caller goes on, e.g. plans the run. Use as a context
    manager; leaving it stops the processes."""

    def __init__(self, settings: Settings, *, processes: int) -> None:
        # "spawn": a forked child would inherit the parent's open sockets and connection pools.
        context = multiprocessing.get_context("spawn")
        self._pool = context.Pool(processes, initializer=_start_worker, initargs=(settings,))

    def process(self, chunk_ids: Sequence[int], *, timeout: dt.timedelta) -> Iterator[ChunkOutcome]:
        """Work the chunks, yielding each outcome as it completes. An exception in a worker
        (a store down for longer than :func:`work_here` waits) is raised here; chunks
        already done stay done."""
        jobs = [(chunk_id, timeout.total_seconds()) for chunk_id in chunk_ids]
        yield from self._pool.imap_unordered(_process, jobs)

    def close(self) -> None:
        """Stop the processes (a chunk one of them was working on is left to the ledger's
        claims, as when a worker dies)."""
        self._pool.terminate()
        self._pool.join()

    def __enter__(self) -> ChunkPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def process_chunks(
    settings: Settings, *, chunk_ids: Sequence[int], processes: int, timeout: dt.timedelta,
) -> Iterator[ChunkOutcome]:
    """Work the chunks on a pool of its own, yielding each outcome as it completes."""
    with ChunkPool(settings, processes=processes) as pool:
        yield from pool.process(chunk_ids, timeout=timeout)
