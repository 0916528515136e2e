"""A seeded world ready to use: the generated data, then the Redis graph built from it
(what `lanyard seed`, `lanyard demo` and the benches start from)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from digest.demo.seed import SeedStats, seed
from digest.graph.store import Graph
from digest.graph.sync import rebuild

# (step, done[, total]): the seed's steps give a total, the graph's do not.
Progress = Callable[..., None]


def seed_with_graph(engine: Engine, graph: Graph, *, progress: Progress | None = None, **options: Any) -> SeedStats:
    """:func:`digest.demo.seed.seed` with ``options``, then the graph rebuilt (its seconds in the timings)."""
    stats = seed(engine, progress=progress, **options)
    built = rebuild(graph, engine, progress=(lambda step, done: progress(f"graph {step}", done)) if progress else None)
    stats.timings["graph"] = built.seconds
    return stats
