"""Turns to write to SQLite (digest/stores/turns.py): one process at a time, forked
children included, and nothing on PostgreSQL."""

import fcntl
import os
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from digest.stores.turns import write_turn


@pytest.fixture
def sqlite_connection(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'lanyard.sqlite3'}")
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def _blocked_waiter(pid: int) -> bool:
    """Does /proc/locks show ``pid`` waiting for a flock?"""
    with open("/proc/locks") as locks:
        return any("-> FLOCK" in line and f" {pid} " in line for line in locks)


def test_another_process_waits_for_the_turn(sqlite_connection, tmp_path):
    turn = tmp_path / "lanyard.sqlite3.turn"
    with write_turn(sqlite_connection):
        fd = os.open(turn, os.O_RDWR)  # another open file, as another process has
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    fd = os.open(turn, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free once the turn is over
    finally:
        os.close(fd)


def test_a_forked_child_waits_for_its_parents_turn(sqlite_connection):
    """flock locks belong to the open file, which a fork shares: the child must open its own."""
    with write_turn(sqlite_connection):
        pid = os.fork()
        if pid == 0:  # the child: takes the turn (only once the parent let go), then leaves
            with write_turn(sqlite_connection):
                os._exit(0)
        deadline = time.monotonic() + 30
        while not _blocked_waiter(pid):
            assert time.monotonic() < deadline, "the child took the turn the parent holds"
            time.sleep(0.01)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.mark.parametrize("migrated_database_url", ["postgresql"], indirect=True)
def test_nothing_on_postgresql(engine):
    with engine.connect() as connection, write_turn(connection):
        assert not Path(f"{connection.engine.url.database}.turn").exists()
