"""`lanyard ops …` and `lanyard stop`, as an operator types them, and the embedded Redis cleaning up after itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from digest.stores.redis_store import embedded_redis_running, ensure_embedded_redis, stop_embedded_redis
from tests.conftest import REDIS_URL, TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]


def lanyard(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "LANYARD_SECRET_KEYS": TEST_SECRET, **env}
    for name in ("LANYARD_REDIS_URL", "DJANGO_SETTINGS_MODULE"):
        if name not in env:
            environ.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "lanyard_cli", *args], env=environ, capture_output=True, text=True, timeout=180, cwd=ROOT
    )


def test_a_one_shot_command_stops_the_embedded_redis_it_started(short_tmp):
    assert not embedded_redis_running(short_tmp)
    result = lanyard("ops", "read-only", "status", LANYARD_DATA_DIR=str(short_tmp))
    assert result.returncode == 0 and result.stdout.strip() == "read-only: off", result.stderr
    assert not embedded_redis_running(short_tmp) and not (short_tmp / "redis.sock").exists()


def test_a_redis_running_before_the_command_keeps_running(short_tmp):
    ensure_embedded_redis(short_tmp)
    try:
        assert lanyard("ops", "flags", LANYARD_DATA_DIR=str(short_tmp)).returncode == 0
        assert embedded_redis_running(short_tmp)
        stopped = lanyard("stop", LANYARD_DATA_DIR=str(short_tmp))
        assert stopped.returncode == 0 and "stopped the embedded Redis" in stopped.stdout
        assert not embedded_redis_running(short_tmp)
        again = lanyard("stop", LANYARD_DATA_DIR=str(short_tmp))
        assert again.returncode == 0 and "was not running" in again.stdout
    finally:
        stop_embedded_redis(short_tmp)


def test_read_only_flags_and_settings_from_the_command_line(database_url, tmp_path, redis_client):
    env = {"LANYARD_DATABASE_URL": database_url, "LANYARD_REDIS_URL": REDIS_URL, "LANYARD_DATA_DIR": str(tmp_path)}
    on = lanyard("ops", "read-only", "on", "--message", "Back at 10:00", **env)
    assert on.returncode == 0 and "read-only: on since" in on.stdout and "Back at 10:00" in on.stdout
    assert "Back at 10:00" in lanyard("ops", "read-only", "status", **env).stdout
    assert lanyard("ops", "read-only", "off", **env).stdout.strip() == "read-only: off"

    assert (
        lanyard("ops", "flag", "search", "people=ada,grace", **env).stdout.strip()
        == "search: people=ada,grace (was everyone)"
    )
    listed = lanyard("ops", "flags", **env).stdout
    assert "search" in listed and "people=ada,grace" in listed and "calendar_feed" in listed

    changed = lanyard("ops", "set", "site_banner=Maintenance tonight", "rate_limit=50", **env)
    assert changed.returncode == 0, changed.stderr
    assert 'site_banner: "" -> "Maintenance tonight"' in changed.stdout and "rate_limit: 0 -> 50" in changed.stdout
    shown = lanyard("ops", "settings", "--changes", "10", **env).stdout
    assert '"Maintenance tonight"' in shown and "rate_limit" in shown and "by cli:" in shown
    assert "rate_limit:        50 messages/s" in lanyard("schedule", "show", **env).stdout  # one schedule, two doors
    assert lanyard("schedule", "set", "chunk_size=100", **env).returncode == 0
    assert "chunk_size: 500 -> 100" in lanyard("ops", "settings", "--changes", "1", **env).stdout


@pytest.mark.parametrize(
    "args", [["ops", "read-only", "maybe"], ["ops", "set", "no-equals-sign"], ["ops", "flag", "search"]]
)
def test_bad_arguments_are_one_line(args, tmp_path):
    result = lanyard(*args, LANYARD_DATA_DIR=str(tmp_path), LANYARD_REDIS_URL=REDIS_URL)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_ops_commands_say_when_they_could_not_read_the_state(database_url, tmp_path):
    """A Redis that does not answer (nothing listens on the port) is never reported as "off" or "everyone"."""
    from tests.faults.servers import free_port  # the one helper for a port nobody listens on

    env = {"LANYARD_DATABASE_URL": database_url, "LANYARD_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
           "LANYARD_DATA_DIR": str(tmp_path)}
    for args, what in ((("ops", "read-only", "status"), "the read-only state"), (("ops", "flags"), "the feature flags"),
                       (("ops", "read-only", "on"), "the read-only state"), (("ops", "flag", "search", "nobody"), "")):
        result = lanyard(*args, **env)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert result.stdout == "" and "Traceback" not in result.stderr, args
        assert result.stderr.count("\n") == 1 and "Redis" in result.stderr, result.stderr
        if what:  # a read; a change (the flag) fails on its write, with the same one line
            assert f"could not read {what}" in result.stderr, result.stderr
