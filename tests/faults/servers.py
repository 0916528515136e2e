"""Servers of the fault tests' own, so killing them disturbs nobody else.

* :class:`RedisServer`: a ``redis-server`` on a free port with an append-only file,
  killed with SIGKILL and started again with its data or without it.
* :class:`PostgresCluster`: a cluster made with Debian's ``initdb`` on a free port,
  stopped with ``pg_ctl stop -m immediate`` (a crash: no checkpoint, no flush of what
  is still in the WAL buffers) and started again (crash recovery). PostgreSQL refuses
  to run as root, so the cluster belongs to the ``postgres`` user when the tests run as root.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import redis

PG_BIN = Path(os.environ.get("LANYARD_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
START_SECONDS = 120.0  # how long a server may take to come up on a loaded machine


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    def __init__(self, directory: Path, *, also: str | None = None):
        """``also``: a second address to listen on (a network-namespace test's)."""
        self.directory = directory
        self.port = free_port()
        self.also = also
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0, *, host: str = "127.0.0.1") -> str:
        return f"redis://{host}:{self.port}/{db}"

    def start(self, *, keep_data: bool = True) -> None:
        if not keep_data:
            shutil.rmtree(self.directory, ignore_errors=True)
        self.directory.mkdir(parents=True, exist_ok=True)
        log = open(self.directory.parent / f"redis-{self.port}.log", "ab")  # noqa: SIM115 -- the server writes it
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", *([self.also] if self.also else []),
             "--protected-mode", "no", "--dir", str(self.directory),
             "--save", "", "--appendonly", "yes", "--appendfsync", "everysec"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        client = redis.Redis(port=self.port, socket_timeout=2)
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                if client.ping():
                    break
            except (redis.ConnectionError, redis.BusyLoadingError, redis.TimeoutError):
                pass
            assert self.process.poll() is None, "redis-server exited"
            assert time.monotonic() < deadline, "redis-server did not answer"
            time.sleep(0.05)
        client.close()

    def kill(self) -> None:
        """SIGKILL: no shutdown, no last write of the append-only file beyond what it has."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


class PostgresCluster:
    def __init__(self, *, also: str | None = None):
        """``also``: a second address to listen on and trust (a network-namespace test's)."""
        self.also = also
        # Under /tmp itself: pytest's own folders are closed to other users.
        self.root = Path(tempfile.mkdtemp(prefix="lanyard-pg-"))
        self.root.chmod(0o755)
        self.data = self.root / "data"
        self.port = free_port()
        self._user = "postgres" if os.geteuid() == 0 else None
        if self._user:
            entry = pwd.getpwnam(self._user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    def url(self, database: str = "postgres", *, host: str = "127.0.0.1") -> str:
        return f"postgresql://postgres@{host}:{self.port}/{database}"

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([str(PG_BIN / args[0]), *args[1:]], user=self._user, capture_output=True, text=True,
                                timeout=START_SECONDS, cwd=self.root)
        assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "--auth=trust", "-U", "postgres", "--encoding=UTF8", "--no-sync")
        if self.also:
            with open(self.data / "pg_hba.conf", "a") as hba:
                hba.write("host all all 198.18.0.0/15 trust\n")  # the namespace hosts (tests/faults/netns.py)

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1{',' + self.also if self.also else ''} "
            f"-c unix_socket_directories={self.root} "
            "-c max_connections=100"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w",
                  "-t", str(int(START_SECONDS)), "start")

    def crash(self) -> None:
        """``pg_ctl stop -m immediate``: every server process quits at once; the next start recovers."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def stop(self, *, mode: str = "fast") -> None:
        """``pg_ctl stop -m fast`` (backends quit, a shutdown checkpoint) or ``-m immediate``."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def create_database(self, name: str, *, template: str | None = None) -> str:
        with psycopg.connect(self.url(), autocommit=True) as connection:
            clause = f' TEMPLATE "{template}"' if template else ""
            connection.execute(f'CREATE DATABASE "{name}"{clause}')
        return self.url(name)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
