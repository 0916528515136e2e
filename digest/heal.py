"""Rebuilding a lost copy once, however many workers notice it is gone.

The database is the source of truth; the Redis graph and the search index are copies.
When a worker finds one missing, :func:`rebuild_once` lets the first to take a lock (a
Redis key with an expiry, renewed while the rebuild streams) rebuild it from the
database while the others wait for it to be there again. A healer that dies frees the
lock within :data:`LOCK_SECONDS`, and the next waiter takes over.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import redis

LOCK_SECONDS = 60
WAIT_SECONDS = 300.0  # how long the others wait before giving their chunk back (retried later)
POLL_SECONDS = 0.2

Stats = TypeVar("Stats")


class StillMissing(RuntimeError):
    """Nothing rebuilt the copy within the wait; a temporary fault (the chunk is retried)."""


@dataclass(frozen=True)
class Rebuilt(Generic[Stats]):
    stats: Stats | None  # None: another worker rebuilt it while this one waited
    waited: float


def rebuild_once(
    client: redis.Redis, lock_key: str, *, ready: Callable[[], bool], rebuild: Callable[[Callable[[], None]], Stats],
    wait: float = WAIT_SECONDS,
) -> Rebuilt[Stats]:
    """Rebuild (``rebuild(renew_lock)``) unless ``ready()``, under the lock; or wait for whoever holds it."""
    started = time.monotonic()
    token = secrets.token_hex(8)
    while not ready():
        if client.set(lock_key, token, nx=True, ex=LOCK_SECONDS):
            try:
                if ready():
                    break  # finished by another worker just before we took the lock
                def renew() -> None:
                    client.expire(lock_key, LOCK_SECONDS)

                stats = rebuild(renew)
            finally:
                if client.get(lock_key) == token.encode():
                    client.delete(lock_key)
            return Rebuilt(stats=stats, waited=time.monotonic() - started)
        if time.monotonic() - started > wait:
            raise StillMissing(f"still missing after waiting {wait:.0f}s for another worker's rebuild")
        time.sleep(POLL_SECONDS)
    return Rebuilt(stats=None, waited=time.monotonic() - started)


@dataclass(frozen=True)
class Healing:
    """What healing a missing copy did (the graph's or the search index's ``heal``);
    :attr:`note` is the line the run's notes get."""

    copy: str  # what was missing: "the Redis graph", "the search index"
    rebuilt: str | None  # how the rebuild went; None: another worker rebuilt it while this one waited
    waited: float

    @property
    def note(self) -> str:
        if self.rebuilt is not None:
            return f"{self.copy} was missing: rebuilt from the database ({self.rebuilt})"
        return f"{self.copy} was missing: waited {self.waited:.1f}s for another worker's rebuild"
