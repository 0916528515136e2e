"""Each provider's request budget: one token bucket in Redis per provider, shared by every
worker on every machine (the send rate's script, ``send_rate_take.lua``).

Bluesky's public AppView and GitHub's API limit requests by address and by app, not by
lanyard user, so a thousand imports at once must share one rate. The rates are live
settings (``follows_rate_<provider>``, requests per second), read again every few seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import redis

from digest.http import Fetched, HttpClient
from digest.stores.keys import RedisKeys
from digest.stores.scripts import lua

TAKE_TOKEN = lua("send_rate_take")
LONGEST_SLEEP = 1.0  # look again at least this often, so a raised rate takes effect soon


class ProviderBudget:
    """``budget.take("bluesky")`` returns when one more request to Bluesky may go."""

    def __init__(self, client: redis.Redis, keys: RedisKeys, live: Callable[[], Mapping[str, Any]], *,
                 refresh: float = 5.0, sleep: Callable[[float], None] = time.sleep):
        self.keys = keys
        self.live = live
        self.refresh = refresh
        self.sleep = sleep
        self.script = client.register_script(TAKE_TOKEN)
        self._rates: Mapping[str, Any] = {}
        self._read_at = float("-inf")
        self.waited = 0.0  # seconds spent waiting, for the task's result line

    def rate(self, provider: str) -> float:
        now = time.monotonic()
        if now - self._read_at >= self.refresh:
            try:
                self._rates = self.live()
            except Exception:  # the store is briefly away: keep the last known rates
                pass
            self._read_at = now
        return float(self._rates.get(f"follows_rate_{provider}", 0) or 0)

    def take(self, provider: str) -> None:
        while True:
            rate = self.rate(provider)
            if rate <= 0:
                return
            # A burst of one second's worth (at least one request) smooths jitter.
            wait_ms = int(self.script(keys=[self.keys.follows_budget(provider)], args=[rate, max(1.0, rate)]))
            if wait_ms <= 0:
                return
            pause = min(wait_ms / 1000, LONGEST_SLEEP)
            self.waited += pause
            self.sleep(pause)


class BudgetedHttp(HttpClient):
    """The worker's guarded client with a budget token taken before every request (each page)."""

    def __init__(self, inner: HttpClient, take: Callable[[], None]):
        self.inner = inner
        self.config = inner.config
        self.take = take

    def get(self, url: str, **kwargs: Any) -> Fetched:
        self.take()
        return self.inner.get(url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Fetched:
        self.take()
        return self.inner.post(url, **kwargs)

    def close(self) -> None:
        """The inner client is the worker's, closed with it."""
