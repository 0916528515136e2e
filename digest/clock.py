"""The time, as every stored timestamp has it (aware, in UTC), and stage timings."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(moment: dt.datetime) -> dt.datetime:
    """An aware UTC time; a naive one (as SQLite returns them) is taken to be UTC already."""
    return moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


Timings = dict[str, float]  # stage → seconds, summed over a chunk


@contextmanager
def timed(timings: Timings, stage: str) -> Iterator[None]:
    """Add the seconds the block takes to ``timings[stage]`` (a defaultdict(float))."""
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] += time.perf_counter() - started
