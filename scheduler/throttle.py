"""The global send rate: one token bucket in Redis shared by every worker on every machine.

The bucket is a hash (tokens, time last counted) updated by one Lua script, so taking
a token is atomic across workers and costs one round trip. The time comes from the
Redis server's clock, so the machines' clocks need not agree. The rate is read from
the runtime schedule every few seconds, so an operator can change it mid-run.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

from digest.stores.keys import RedisKeys
from digest.stores.scripts import lua

TAKE_TOKEN = lua("send_rate_take")


class SendThrottle:
    """A callable for ``DeliveryLimits(throttle=...)``: blocks until the next send may go.

    ``rate`` returns the current messages per second (0: unlimited); it is asked at
    most every ``refresh`` seconds.
    """

    def __init__(self, client: redis.Redis, keys: RedisKeys, rate: Callable[[], int], *, refresh: float = 2.0):
        self.client = client
        self.key = keys.send_rate_bucket
        self.rate_source = rate
        self.refresh = refresh
        self.script = client.register_script(TAKE_TOKEN)
        self._rate = 0
        self._read_at = float("-inf")

    def rate(self) -> int:
        now = time.monotonic()
        if now - self._read_at >= self.refresh:
            try:
                self._rate = self.rate_source()
            except Exception:  # the database is briefly away: keep the last known rate
                pass
            self._read_at = now
        return self._rate

    def __call__(self) -> None:
        while True:
            rate = self.rate()
            if rate <= 0:
                return
            # A burst of one second's worth smooths scheduling jitter without ever
            # exceeding the rate over any second by more than that.
            wait_ms = int(self.script(keys=[self.key], args=[rate, max(1, rate)]))
            if wait_ms <= 0:
                return
            time.sleep(min(wait_ms, 1000) / 1000)
