"""Process a planned run's chunks on several local processes, without a task queue.

`lanyard digest run --processes N` uses this to put every core of one machine to work;
the Celery scheduler is the way to spread a run over machines. Each process builds its
own :class:`~digest.pipeline.Pipeline` once (its own database engine, Redis connection,
transport and loaded templates: none of those survive a fork). The delivery ledger
makes processes racing on one run safe, exactly as it does for Celery workers.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator, Sequence

from .config import Settings
from .pipeline import ChunkResult, Pipeline

_pipeline: Pipeline | None = None  # one per worker process, made by _start_worker


def _start_worker(settings: Settings) -> None:
    global _pipeline
    _pipeline = Pipeline(settings)


def _process(job: tuple[int, list[int]]) -> tuple[int, ChunkResult]:
    run_id, subscription_ids = job
    assert _pipeline is not None, "the pool's initializer builds it"
    return len(subscription_ids), _pipeline.process_chunk(run_id=run_id, subscription_ids=subscription_ids)


def process_chunks(
    settings: Settings,
    *,
    run_id: int,
    chunks: Sequence[Sequence[int]],
    processes: int,
) -> Iterator[tuple[int, ChunkResult]]:
    """Yield (chunk size, result) for each chunk as it completes, in completion order.

    An exception in a worker (``RunPaused``, a store down) stops the pool and is raised
    here; chunks already done stay done, and the rest can be run again.
    """
    # "spawn": a forked child would inherit the parent's open sockets and connection pools.
    context = multiprocessing.get_context("spawn")
    jobs = [(run_id, list(chunk)) for chunk in chunks]
    with context.Pool(processes, initializer=_start_worker, initargs=(settings,)) as pool:
        yield from pool.imap_unordered(_process, jobs)
