"""The production command from README.md: gunicorn with unsubscribe_web.gunicorn_conf,
settings from the environment, over real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import select

from digest.stores import db
from digest.tokens import TokenSigner
from tests.conftest import REDIS_URL, ROOT, TEST_SECRET

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_served(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        try:
            httpx.get(url + "/", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"nothing served at {url}")


def test_documented_gunicorn_command_serves(database_url, engine, make_subscription, short_tmp):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANYARD_")}
    env.update(LANYARD_DATABASE_URL=database_url, LANYARD_REDIS_URL=REDIS_URL, LANYARD_SECRET_KEYS=TEST_SECRET,
               LANYARD_DATA_DIR=str(short_tmp), LANYARD_UNSUBSCRIBE_BIND=f"127.0.0.1:{port}")
    access_log = short_tmp / "access.log"
    process = subprocess.Popen(
        [GUNICORN, "-c", "python:unsubscribe_web.gunicorn_conf", "--access-logfile", str(access_log),
         "unsubscribe_web.asgi:create_asgi_app()"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_served(url, process)
        ref = make_subscription()
        token = TokenSigner([TEST_SECRET]).sign("unsubscribe", ref)
        with httpx.Client(base_url=url, timeout=10) as client:
            assert client.get("/").status_code == 404
            assert client.get(f"/u/{token}").status_code == 200
            assert client.head(f"/u/{token}").content == b""
            response = client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"})
            assert response.status_code == 200 and "You are unsubscribed" in response.text
            assert response.headers["x-frame-options"] == "DENY"
            assert client.get("/u/" + "A" * 5000).status_code == 414  # gunicorn's own limit
            # A chunked body has no Content-Length to refuse it by: it is read up to the limit.
            chunked = client.post(f"/u/{token}", content=iter([b"x" * 4096] * 5))
            assert chunked.request.headers["transfer-encoding"] == "chunked"
            assert chunked.status_code == 413
        # Queued at once; the worker's queue applier writes it to the database right after.
        deadline = time.monotonic() + 30
        while not audit_vias(engine):
            assert time.monotonic() < deadline, "the unsubscribe never reached the database"
            time.sleep(0.05)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert "Traceback" not in stderr
    assert "Redis runs without appendonly" in stderr  # the test server's: the operator hears of it at start
    assert token not in stderr
    access = access_log.read_text()
    assert '"POST" 200' in access and '"GET" 404' in access  # the access log asked for
    assert token not in access  # tokens are secrets: not even in the access log
    assert audit_vias(engine) == ["one_click"]


def audit_vias(engine) -> list[str]:
    with engine.connect() as connection:
        return connection.execute(select(db.unsubscribe_event.c.via)).scalars().all()


def test_a_bad_setting_stops_gunicorn_in_one_line(short_tmp):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANYARD_")}
    env.update(LANYARD_ENV="production", LANYARD_SECRET_KEYS="short", LANYARD_DATA_DIR=str(short_tmp),
               LANYARD_UNSUBSCRIBE_BIND=f"127.0.0.1:{free_port()}")
    for args in (["-c", "python:unsubscribe_web.gunicorn_conf"], ["--bind", f"127.0.0.1:{free_port()}"]):
        result = subprocess.run([GUNICORN, *args, "unsubscribe_web.asgi:create_asgi_app()"], env=env, cwd=ROOT,
                                capture_output=True, text=True, timeout=120)
        lines = [line for line in result.stderr.splitlines() if line.startswith("lanyard unsubscribe:")]
        assert result.returncode != 0 and "Traceback" not in result.stderr, (args, result.stderr)
        assert len(lines) == 1 and "configuration: LANYARD_SECRET_KEYS" in lines[0], (args, result.stderr)
