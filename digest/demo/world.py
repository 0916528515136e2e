"""A seeded world ready to use: the generated data, then the Redis graph built from it
(what `lanyard seed`, `lanyard demo` and the benches start from)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from digest.demo.seed import SeedPlan, SeedStats, seed
from digest.graph.store import Graph
from digest.graph.sync import rebuild

# (step, done[, total]): the seed's steps give a total, the graph's do not.
Progress = Callable[..., None]


def seed_with_graph(engine: Engine, graph: Graph, plan: SeedPlan, *, progress: Progress | None = None) -> SeedStats:
    """:func:`digest.demo.seed.seed` of ``plan``, then the graph rebuilt (its seconds in the timings)."""
    stats = seed(engine, plan, progress=progress)
    built = rebuild(graph, engine, progress=(lambda step, done: progress(f"graph {step}", done)) if progress else None)
    stats.timings["graph"] = built.seconds
    return stats
