"""Rebuilding a lost copy once (digest/heal.py): one worker rebuilds under the lock while
another waits for it, and both say so in one line. Real Redis."""

from __future__ import annotations

import threading
import time

import pytest

from digest.heal import Healing, StillMissing, rebuild_once

LOCK = "heal-test:lock"


def test_one_rebuilds_while_the_other_waits(redis_client):
    built = threading.Event()
    release = threading.Event()
    calls = []

    def rebuild(renew):
        calls.append(threading.current_thread().name)
        renew()
        release.wait(30)
        built.set()
        return "42 rows"

    results = {}

    def worker(name):
        results[name] = rebuild_once(redis_client, LOCK, ready=built.is_set, rebuild=rebuild, wait=30)

    first = threading.Thread(target=worker, args=("first",), name="first")
    first.start()
    deadline = time.monotonic() + 30
    while not calls and time.monotonic() < deadline:  # the first holds the lock before the second looks
        first.join(0.01)
    second = threading.Thread(target=worker, args=("second",), name="second")
    second.start()
    release.set()
    first.join(30)
    second.join(30)
    assert calls == ["first"]
    assert results["first"].stats == "42 rows" and results["second"].stats is None
    assert redis_client.get(LOCK) is None  # the lock is given back


def test_nobody_rebuilding_in_time_is_still_missing(redis_client):
    redis_client.set(LOCK, "someone else", ex=60)
    with pytest.raises(StillMissing, match="still missing after waiting 0s"):
        rebuild_once(redis_client, LOCK, ready=lambda: False, rebuild=lambda renew: None, wait=0.3)


def test_the_note_says_what_was_rebuilt_or_waited_for():
    assert Healing("the search index", "12 documents in 0.5s", 0.5).note == (
        "the search index was missing: rebuilt from the database (12 documents in 0.5s)"
    )
    assert Healing("the Redis graph", None, 2.25).note == (
        "the Redis graph was missing: waited 2.2s for another worker's rebuild"
    )
