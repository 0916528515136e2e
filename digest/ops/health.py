"""Liveness and readiness: ``/healthz`` (the process answers) and ``/readyz`` (its stores do)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import redis as redis_lib
from sqlalchemy import Engine, text


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    ms: float
    error: str = ""


def check(name: str, probe: Callable[[], object]) -> Check:
    start = time.perf_counter()
    try:
        probe()
    except Exception as error:  # any failure of a store means "not ready"; the page says which
        return Check(
            name,
            False,
            round((time.perf_counter() - start) * 1000, 2),
            f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300],
        )
    return Check(name, True, round((time.perf_counter() - start) * 1000, 2))


def database_probe(engine: Engine) -> Callable[[], object]:
    def probe() -> object:
        with engine.connect() as connection:
            return connection.execute(text("SELECT 1")).scalar_one()

    return probe


def redis_probe(redis: redis_lib.Redis) -> Callable[[], object]:
    return redis.ping


def readiness(checks: list[Check]) -> tuple[int, dict]:
    """The HTTP status and JSON body of ``/readyz``."""
    ready = all(c.ok for c in checks)
    body = {
        "status": "ready" if ready else "unavailable",
        "checks": {c.name: {"ok": c.ok, "ms": c.ms, **({"error": c.error} if c.error else {})} for c in checks},
    }
    return (200 if ready else 503), body


def database_answers(engine: Engine) -> str | None:
    """None when the database answers; else the first line of why not (for a one-line
    start-up error). The engine is disposed either way: a process about to fork keeps no
    connection its children would share."""
    try:
        database_probe(engine)()
    except Exception as error:  # any failure to connect or query: the reason is the message
        reason = str(getattr(error, "orig", None) or error).strip()
        return reason.splitlines()[0] if reason else type(error).__name__
    finally:
        engine.dispose()
    return None
