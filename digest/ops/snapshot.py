"""What a request needs of the ops state, in one Redis round trip.

:func:`ops_snapshot` reads the read-only switch, the flags and the live settings with one
pipeline (the site does this at most once per request). When Redis cannot be reached,
the snapshot holds the declared defaults and says so; nothing raises.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
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
    rules: dict[str, Rule]
    settings: dict[str, Any]
    reachable: bool = True

    def flags(self, visitor: Visitor | Callable[[], Visitor]) -> FlagSet:
        return FlagSet(self.rules, visitor)


DEFAULT_SNAPSHOT = OpsSnapshot(ReadOnly(), dict(DEFAULT_RULES), dict(OPS_DEFAULTS), reachable=False)


def ops_snapshot(redis: redis_lib.Redis, engine: Engine, *, prefix: str) -> OpsSnapshot:
    keys = RedisKeys(prefix)
    try:
        pipe = redis.pipeline(transaction=False)
        pipe.hgetall(keys.ops_read_only)
        pipe.hgetall(keys.ops_flags)
        pipe.hgetall(keys.ops_settings)
        read_only, flags, settings_hash = pipe.execute()
    except redis_lib.RedisError as error:
        log.warning("ops state unreachable, using the defaults: %s", error)
        return DEFAULT_SNAPSHOT
    settings = settings_from_hash(settings_hash)
    if settings is None:
        # The copy is gone (a new Redis, a flush): rebuild it from the database, its owner.
        try:
            settings = settings_copy_load(redis, engine, key=keys.ops_settings)
        except (redis_lib.RedisError, SQLAlchemyError) as error:
            log.warning("live settings unreadable, using the defaults: %s", error)
            settings = dict(OPS_DEFAULTS)
    return OpsSnapshot(ReadOnly.from_hash(read_only), rules_from_hash(flags), settings)
