"""Which failures are temporary (wait and retry) and how to say what happened in one line."""

from __future__ import annotations

import random
import smtplib
import sqlite3

import psycopg
import redis
import sqlalchemy.exc

from digest.errors import GraphMissing, RedisUnavailable

# A database away (down, restarting, locked), seen through SQLAlchemy or straight from
# the driver (the per-message "sent" mark talks to the driver directly).
DATABASE_ERRORS = (
    sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError,
    psycopg.OperationalError, psycopg.InterfaceError, sqlite3.OperationalError,
)


def temporary(error: BaseException) -> str | None:
    """A one-line description when ``error`` is a store or server being away, else None."""
    if isinstance(error, DATABASE_ERRORS) or (
        isinstance(error, sqlalchemy.exc.DBAPIError) and error.connection_invalidated
    ):
        return f"database unavailable ({_first_line(getattr(error, 'orig', None) or error)})"
    if isinstance(error, GraphMissing):
        return f"Redis graph missing ({_first_line(error)})"
    if isinstance(error, (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError, RedisUnavailable)):
        return f"Redis unavailable ({_first_line(error)})"
    if isinstance(error, (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError)):
        return f"mail server unavailable ({_first_line(error)})"
    if isinstance(error, (ConnectionError, TimeoutError)):
        return f"connection failed ({_first_line(error)})"
    return None


def backoff(retries: int, *, base: float = 2.0, cap: float = 60.0) -> float:
    """Seconds before retry number ``retries + 1``: doubling, capped, with jitter so
    workers that failed together do not return together."""
    delay = min(cap, base * 2 ** retries)
    return round(delay * random.uniform(0.75, 1.25), 2)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:200]
