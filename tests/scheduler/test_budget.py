"""Each provider's request budget: one Redis token bucket shared by every worker."""

from __future__ import annotations

import threading

from digest.stores.keys import RedisKeys
from scheduler.budget import ProviderBudget

KEYS = RedisKeys("budgettest:")


def _budget(redis_client, rates, sleeps):
    return ProviderBudget(redis_client, KEYS, lambda: rates, sleep=sleeps.append)


def test_requests_beyond_the_rate_wait_and_each_provider_has_its_own_bucket(redis_client):
    sleeps: list[float] = []
    budget = _budget(redis_client, {"follows_rate_bluesky": 0.5, "follows_rate_github": 100}, sleeps)
    budget.take("bluesky")  # the burst: one request goes at once
    assert sleeps == []
    for _ in range(50):
        budget.take("github")  # another provider's bucket is not this one's
    assert sleeps == []
    waited = []

    def sleeper(seconds):  # the test's clock: time passes only in Redis's TIME, so stop after a wait is asked
        waited.append(seconds)
        raise TimeoutError

    budget.sleep = sleeper
    try:
        budget.take("bluesky")
    except TimeoutError:
        pass
    assert waited and 0 < waited[0] <= 1.0  # at most a second per look, so a raised rate takes effect soon
    assert redis_client.exists(KEYS.follows_budget("bluesky")) and redis_client.exists(KEYS.follows_budget("github"))


def test_two_workers_share_one_bucket(redis_client):
    rates = {"follows_rate_mastodon": 1.0}
    first, second = [], []
    a, b = _budget(redis_client, rates, first), ProviderBudget(redis_client, KEYS, lambda: rates, sleep=second.append)
    a.take("mastodon")
    stop = threading.Event()

    def sleeper(seconds):
        second.append(seconds)
        stop.set()
        raise TimeoutError

    b.sleep = sleeper
    try:
        b.take("mastodon")  # the other worker took the one token there was
    except TimeoutError:
        pass
    assert stop.is_set()


def test_a_rate_of_zero_or_unknown_settings_never_wait(redis_client):
    sleeps: list[float] = []
    budget = _budget(redis_client, {}, sleeps)
    for _ in range(20):
        budget.take("bluesky")
    assert sleeps == [] and not redis_client.exists(KEYS.follows_budget("bluesky"))


def test_the_last_known_rates_are_kept_while_the_store_is_away(redis_client):
    sleeps: list[float] = []
    calls = {"n": 0}

    def live():
        calls["n"] += 1
        if calls["n"] > 1:
            raise ConnectionError("away")
        return {"follows_rate_github": 3.0}

    budget = ProviderBudget(redis_client, KEYS, live, refresh=0, sleep=sleeps.append)
    assert budget.rate("github") == 3.0
    assert budget.rate("github") == 3.0
