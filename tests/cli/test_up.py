"""`lanyard up` and `lanyard serve site` as a person trying lanyard runs them: real processes,
SQLite under a fresh data directory, the test Redis, a stand-in web page on 127.0.0.2."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time

import httpx
import psutil
import pytest
from sqlalchemy import create_engine, insert

from digest.stores import db
from tests.cli.test_unsubscribe import free_port
from tests.conftest import REDIS_URL, TEST_SECRET
from tests.web_server import page

LANYARD = [sys.executable, "-m", "lanyard_cli"]


@pytest.fixture
def env(short_tmp, redis_client):
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LANYARD_")}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    environment.update(
        LANYARD_DATA_DIR=str(short_tmp), LANYARD_REDIS_URL=REDIS_URL, LANYARD_SECRET_KEYS=TEST_SECRET,
        LANYARD_BASE_URL=f"http://127.0.0.1:{port}", LANYARD_HTTP_ALLOW_NETWORKS="127.0.0.2/32",
    )
    return environment


def base(env) -> str:
    return env["LANYARD_BASE_URL"]


def wait_until(condition, what: str, process: subprocess.Popen, seconds: float = 120):
    """Poll ``condition`` until it returns something true; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + seconds
    while True:
        assert process.poll() is None, f"the server ended while waiting for {what}"
        try:
            result = condition()
        except httpx.TransportError:
            result = None
        if result:
            return result
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(0.3)


def csrf(client: httpx.Client, path: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get(path).text).group(1)


def sign_up(client: httpx.Client, name: str) -> httpx.Response:
    token = csrf(client, "/accounts/signup/")
    return client.post("/accounts/signup/", data={
        "csrfmiddlewaretoken": token, "username": "zelda", "email": "zelda@example.com", "name": name,
        "password1": "a long and unusual passphrase", "password2": "a long and unusual passphrase",
    })


def stop(process: subprocess.Popen) -> tuple[str, str]:
    process.send_signal(signal.SIGTERM)
    return process.communicate(timeout=120)


def test_serve_site_answers_the_emails_unsubscribe_links(env):
    """The README's site answers /u/ and /r/ itself: the demo's links work on the one server it runs."""
    subprocess.run([*LANYARD, "seed", "--people", "3", "--events", "1", "--subscribers", "1", "--seed", "1"],
                   env=env, check=True, capture_output=True, timeout=300)
    link = subprocess.run([*LANYARD, "unsubscribe", "link", "1"], env=env, check=True, capture_output=True,
                          text=True, timeout=120).stdout.strip()
    assert link.startswith(base(env) + "/u/")
    server = subprocess.Popen([*LANYARD, "serve", "site"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        confirm = wait_until(lambda: httpx.get(link, timeout=5), "the unsubscribe page", server)
        assert confirm.status_code == 200 and "Unsubscribe from the daily digest?" in confirm.text
        assert httpx.get(base(env) + "/events/", timeout=10).status_code == 200  # the site still answers
        broken = httpx.get(base(env) + "/r/not-a-token", timeout=10)
        # The endpoint's answer, not the site's 404.
        assert broken.status_code == 400 and "This link is broken" in broken.text
    finally:
        stop(server)


def test_serve_unsubscribe_beside_the_site_takes_a_port_of_its_own(env):
    """With the unsubscribe URL the site's own (the default), the endpoint alone does not
    try the site's port ("address already in use") but LANYARD_UNSUBSCRIBE_BIND's."""
    own = free_port()
    env["LANYARD_UNSUBSCRIBE_BIND"] = f"127.0.0.1:{own}"
    endpoint = subprocess.Popen([*LANYARD, "serve", "unsubscribe"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    try:
        health = wait_until(lambda: httpx.get(f"http://127.0.0.1:{own}/healthz", timeout=5), "the endpoint", endpoint)
        assert health.status_code == 200
    finally:
        stdout, _ = stop(endpoint)
    assert "serves /u/ and /r/ itself" in stdout and f"http://127.0.0.1:{own}/u/<token>" in stdout


def descendants(process: subprocess.Popen) -> set[int]:
    return {child.pid for child in psutil.Process(process.pid).children(recursive=True)}


def test_up_runs_the_site_a_worker_and_the_beat_and_stops_them_together(env, web_server):
    """One command: a new account becomes searchable and a pasted link is fetched while
    browsing; SIGTERM stops every process it started."""
    web_server.route("/slides", page("<html><head><title>Compilers, the slides</title></head><body>x</body></html>"))
    up = subprocess.Popen([*LANYARD, "up", "-c", "1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
    try:
        with httpx.Client(base_url=base(env), timeout=10, follow_redirects=True) as client:
            wait_until(lambda: client.get("/healthz").status_code == 200, "the site", up)
            assert sign_up(client, "Zelda Quasimodo").status_code == 200
            wait_until(lambda: "Zelda Quasimodo" in client.get("/search/?q=quasimodo").text,
                       "the new account in search", up)
            engine = create_engine(f"sqlite:///{env['LANYARD_DATA_DIR']}/lanyard.sqlite3")
            with engine.begin() as connection:
                day = dt.date.today() + dt.timedelta(days=9)
                connection.execute(insert(db.event_).values(
                    name="PyCon", slug="pycon", description="", start_date=day, end_date=day, timezone="UTC",
                    venue="", city="", country="", url="", cfp_deadline=None, cache_version=1,
                    created_at=dt.datetime.now(dt.UTC)))
            engine.dispose()
            token = csrf(client, "/events/pycon/")
            client.post("/events/pycon/coverage/", data={
                "csrfmiddlewaretoken": token, "url": web_server.url("/slides"), "kind": ""})
            wait_until(lambda: "Compilers, the slides" in client.get("/events/pycon/").text, "the fetched link", up)
        children = descendants(up)
        assert len(children) >= 3  # the site, the worker (and its pool), the beat
    finally:
        stdout, stderr = stop(up)
    assert up.returncode == 0, stderr
    assert "Traceback" not in stderr and "lanyard up: stopping" in stdout
    still = [pid for pid in children if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    assert still == []
