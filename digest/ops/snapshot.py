"""What a request needs of the ops state, in one Redis round trip.

:func:`ops_snapshot` reads the read-only switch, the flags and the live settings with one
pipeline (the site does this at most once per request). When Redis cannot be reached,
the snapshot holds the declared defaults and says so; nothing raises.

The last snapshot parsed is kept per process with the hashes it was parsed from, and
given again while Redis answers the same hashes: the ops state changes rarely, and
parsing it (each setting's JSON, each flag's rule) was 100 of the 190 µs of CPU a request
paid for it (measured on the site, embedded Redis). So a snapshot is shared: its
``rules`` and ``settings`` are read-only mappings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import redis as redis_lib
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from digest.ops.flags import DEFAULT_RULES, FlagSet, Rule, Visitor, rules_from_hash
from digest.ops.live import OPS_DEFAULTS, settings_copy_load, settings_from_hash
from digest.ops.readonly import ReadOnly
from digest.stores.keys import RedisKeys

log = logging.getLogger("lanyard.ops")


@dataclass(frozen=True)
class OpsSnapshot:
    read_only: ReadOnly
    rules: Mapping[str, Rule]
    settings: Mapping[str, Any]
    reachable: bool = True

    def flags(self, visitor: Visitor | Callable[[], Visitor]) -> FlagSet:
        return FlagSet(self.rules, visitor)


DEFAULT_SNAPSHOT = OpsSnapshot(
    ReadOnly(), MappingProxyType(dict(DEFAULT_RULES)), MappingProxyType(dict(OPS_DEFAULTS)), reachable=False
)
# (the three hashes as Redis answered them, the snapshot parsed from them); replaced whole
_last_parsed: tuple[tuple[dict, dict, dict], OpsSnapshot] | None = None


def ops_snapshot(redis: redis_lib.Redis, engine: Engine, *, prefix: str) -> OpsSnapshot:
    keys = RedisKeys(prefix)
    try:
        pipe = redis.pipeline(transaction=False)
        pipe.hgetall(keys.ops_read_only)
        pipe.hgetall(keys.ops_flags)
        pipe.hgetall(keys.ops_settings)
        raw = read_only, flags, settings_hash = tuple(pipe.execute())
    except redis_lib.RedisError as error:
        log.warning("ops state unreachable, using the defaults: %s", error)
        return DEFAULT_SNAPSHOT
    last = _last_parsed
    if last is not None and last[0] == raw:
        return last[1]
    settings = settings_from_hash(settings_hash)
    if settings is None:
        # The copy is gone (a new Redis, a flush): rebuild it from the database, its owner.
        try:
            settings = settings_copy_load(redis, engine, key=keys.ops_settings)
        except (redis_lib.RedisError, SQLAlchemyError) as error:
            log.warning("live settings unreadable, using the defaults: %s", error)
            settings = dict(OPS_DEFAULTS)
        # Not kept: the next request finds the copy filled (or tries again).
        return _snapshot(read_only, flags, settings)
    snapshot = _snapshot(read_only, flags, settings)
    _remember(raw, snapshot)
    return snapshot


def _snapshot(read_only: dict, flags: dict, settings: dict[str, Any]) -> OpsSnapshot:
    return OpsSnapshot(
        ReadOnly.from_hash(read_only), MappingProxyType(rules_from_hash(flags)), MappingProxyType(settings)
    )


def _remember(raw: tuple, snapshot: OpsSnapshot) -> None:
    global _last_parsed  # one tuple replaced whole: threads see the old pair or the new one
    _last_parsed = (raw, snapshot)
