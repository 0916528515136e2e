"""Fixed-window request counting in Redis, for the API's rate limits (per token, per address).

One counter per client and window, made with the window's expiry and incremented in the
same transaction, so every process of every machine counts against the same limit. A
Redis that cannot be reached admits the request (``None``): the API stays up when its
counter is away, and says so in the log.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import redis as redis_lib

from digest.stores.keys import RedisKeys


@dataclass(frozen=True)
class RateLimit:
    requests: int  # allowed per window
    seconds: int  # the window


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # seconds until the window ends (Retry-After when refused)


def rate_take(redis: redis_lib.Redis, *, prefix: str, client: str, limit: RateLimit, now: float) -> Verdict | None:
    """Count one request of ``client``; None when Redis cannot be reached."""
    window = int(now // limit.seconds)
    key = RedisKeys(prefix).api_rate(client, window)
    try:
        with redis.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, ex=limit.seconds + 1, nx=True)
            pipe.incr(key)
            _, count = pipe.execute()
    except redis_lib.RedisError:
        return None
    reset = max(1, math.ceil((window + 1) * limit.seconds - now))
    return Verdict(
        allowed=count <= limit.requests, limit=limit.requests, remaining=max(0, limit.requests - count), reset=reset
    )
