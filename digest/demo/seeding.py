"""One seeding under way, and the heavy-tailed draws the generated data is shaped by."""

from __future__ import annotations

import datetime as dt
import random
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import accumulate

from sqlalchemy import Connection

Progress = Callable[[str, int, int], None]  # (step, done, total)


@dataclass
class SeedStats:
    people: int = 0
    follows: int = 0
    imported_follows: int = 0  # of the follows, those imported from GitHub, Mastodon or Bluesky
    accounts: int = 0
    topics: int = 0
    events: int = 0
    sessions: int = 0
    speakers: int = 0
    attendances: int = 0
    coverage: int = 0
    subscriptions: int = 0
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class Seeding:
    """What every step of one seeding shares: where rows go, the random source, the
    dates the data is centred on, the counts so far and whom to tell."""

    connection: Connection
    rng: random.Random
    today: dt.date
    now: dt.datetime
    stats: SeedStats
    report: Progress


def heavy_tail(rng: random.Random, scale: float, alpha: float, cap: int) -> int:
    return min(cap, int(scale * rng.paretovariate(alpha)))


def weighted_picker(rng: random.Random, weights: list[float]) -> Callable[[int], set[int]]:
    """pick(k) → up to k distinct indices drawn by weight (fast: one bisect per draw)."""
    cumulative = list(accumulate(weights))
    total = cumulative[-1]
    size = len(weights)

    def pick(k: int) -> set[int]:
        chosen: set[int] = set()
        k = min(k, size)
        tries = 0
        while len(chosen) < k and tries < 4 * k + 20:
            chosen.add(min(bisect_left(cumulative, rng.random() * total), size - 1))
            tries += 1
        while len(chosen) < k:  # the heavy head is exhausted: fill uniformly
            chosen.add(rng.randrange(size))
        return chosen

    return pick
