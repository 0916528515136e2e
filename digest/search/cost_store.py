"""The friends planner's settled figures, kept in Redis per search engine.

A planner (:class:`digest.search.friends.PlannedFriendEvents`) learns its figures by
probing: a size class's subscribers answered by both strategies for its first three
batches, which on a typical chunk costs more than answering the whole chunk from Redis.
Kept only in the process, every new worker (and every worker after a restart) paid that
again on its first run: 0.28x to 0.82x of the best single strategy on that run. So a
class's figures are written here when it settles or is re-probed, and read when a
planner starts, and again before it would probe (a class another worker probed lately
is not probed twice).

Figures older than FIGURES_MAX_AGE are not used (the planner probes again). Redis away,
or a value that does not read as figures of this version (another version's, a hand
edit, a key of another type), never fails a batch: it is skipped with a log line and the
planner probes as it would without.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Collection
from typing import Annotated

import redis
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from digest.search.index import SearchIndex
from digest.stores.keys import RedisKeys

log = logging.getLogger("lanyard.search")

# Bumped when the figures' meaning changes (size classes, what a probe times): a value
# written by another version is ignored, not read as this one's.
FIGURES_VERSION = 1
# Figures older than this are not used. Long enough that a daily or weekly digest's
# workers find the last run's figures; a worker re-probes its classes every PROBE_EVERY
# batches anyway, and each re-probe writes fresh ones. The key expires after it too.
FIGURES_MAX_AGE = 7 * 24 * 3600.0
# After a failed read, reads wait this long: Redis away is not asked before every batch.
RETRY_SECONDS = 30.0

Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class ClassFigures(BaseModel):
    """One size class's settled figures: seconds per subscriber per strategy (the recent
    ones, which choices take the best of), how many subscribers the last probe took, and
    when it ran (seconds since the epoch: it is compared across processes and hosts)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: int = FIGURES_VERSION
    seconds: dict[str, Annotated[list[Seconds], Field(min_length=1)]]
    group: Annotated[int, Field(ge=1)]
    at: Annotated[float, Field(allow_inf_nan=False)]


def engine_key(index: SearchIndex) -> str:
    """The engine's part of the key: its kind, and a digest of its address (a Solr URL may
    hold credentials, which have no place in a key name)."""
    return f"{index.backend}:{hashlib.sha256(index.address.encode()).hexdigest()[:16]}"


class CostStore:
    """The figures of one engine: a Redis hash, size class → :class:`ClassFigures` as JSON."""

    def __init__(self, client: redis.Redis, key: str, *, strategies: Collection[str],
                 clock: Callable[[], float] = time.time):
        self.client = client
        self.key = key
        self.strategies = frozenset(strategies)
        self.clock = clock
        self._quiet_until = float("-inf")  # monotonic: no read before this after a failure

    @classmethod
    def for_engine(cls, client: redis.Redis, prefix: str, index: SearchIndex, *,
                   strategies: Collection[str]) -> CostStore:
        return cls(client, RedisKeys(prefix).friends_costs(engine_key(index)), strategies=strategies)

    def read(self) -> dict[int, ClassFigures]:
        """The kept figures that are fresh and well formed, per class; none while Redis is
        away (and for RETRY_SECONDS after it failed)."""
        if time.monotonic() < self._quiet_until:
            return {}
        try:
            raw = self.client.hgetall(self.key)
        except (redis.RedisError, OSError) as error:
            self._quiet_until = time.monotonic() + RETRY_SECONDS
            log.warning("friends planner: could not read the figures kept in %s (%s); probing instead",
                        self.key, _first_line(error))
            return {}
        found: dict[int, ClassFigures] = {}
        for field, value in raw.items():
            try:
                cls, figures = self._parse(field, value)
            except ValueError as error:
                log.warning("friends planner: ignored the figures kept in %s for size class %r: %s",
                            self.key, field, error)
                continue
            if self.clock() - figures.at > FIGURES_MAX_AGE:
                log.info("friends planner: the figures kept in %s for size class %d are older than %.0f hours; "
                         "probing again", self.key, cls, FIGURES_MAX_AGE / 3600)
                continue
            found[cls] = figures
        return found

    def _parse(self, field: bytes | str, value: bytes | str) -> tuple[int, ClassFigures]:
        """(class, figures) from one hash entry; ValueError when it does not read as this
        version's figures."""
        try:
            cls = int(field)
        except ValueError:
            raise ValueError("not a size class") from None
        if cls < 0:
            raise ValueError("not a size class")
        try:
            figures = ClassFigures.model_validate_json(value)
        except ValidationError as error:
            raise ValueError(f"not figures ({error.error_count()} problems: {_first_problem(error)})") from None
        if figures.v != FIGURES_VERSION:
            raise ValueError(f"written by version {figures.v} of the planner's figures, this is {FIGURES_VERSION}")
        if set(figures.seconds) != self.strategies:
            raise ValueError(f"figures for {sorted(figures.seconds)}, not {sorted(self.strategies)}")
        if figures.at > self.clock() + FIGURES_MAX_AGE:
            raise ValueError("probed in the future")
        return cls, figures

    def write(self, cls: int, figures: ClassFigures) -> None:
        """Keep a class's figures (the key lives FIGURES_MAX_AGE past the last write).
        Redis away loses them, with a log line: the next worker probes."""
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.hset(self.key, str(cls), figures.model_dump_json())
            pipe.expire(self.key, int(FIGURES_MAX_AGE))
            pipe.execute()
        except (redis.RedisError, OSError) as error:
            log.warning("friends planner: could not keep the figures of size class %d in %s (%s)",
                        cls, self.key, _first_line(error))

    def forget(self) -> None:
        """Drop the engine's figures: the next planner probes as on a first run ever."""
        self.client.delete(self.key)


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]


def _first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    where = ".".join(map(str, problem["loc"])) or "value"
    return f"{where}: {problem['msg']}"
