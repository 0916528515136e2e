"""Turns to write to SQLite, for writers of a transaction per message (the delivery ledger).

SQLite lets one writer in at a time and makes the others wait in its busy handler, which
polls with sleeps of 1 to 100 ms: two processes committing a transaction per message each
slept more than they worked. Such writers take their turn behind an advisory lock on a
file beside the database (``<file>.turn``) first: a blocked ``flock`` wakes the moment the
holder lets go. PostgreSQL needs none of it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

from sqlalchemy import Connection

_TURNS: dict[tuple[int, str], int] = {}  # (process id, SQLite file) → the open turn file's descriptor


@contextlib.contextmanager
def write_turn(connection: Connection) -> Iterator[None]:
    """On SQLite, wait for this process's turn to write; elsewhere nothing.

    The descriptor is opened per process: a forked child must not share its parent's lock
    (``flock`` locks belong to the open file, which a fork shares).
    """
    path = connection.engine.url.database if connection.dialect.name == "sqlite" else None
    if not path or path == ":memory:":
        yield
        return
    key = (os.getpid(), path)
    if key not in _TURNS:
        _TURNS[key] = os.open(f"{path}.turn", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(_TURNS[key], fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(_TURNS[key], fcntl.LOCK_UN)
