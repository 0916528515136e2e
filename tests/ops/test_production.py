"""Production mode, as an operator runs it: gunicorn behind a TLS proxy, JSON logs, Sentry.

Real processes: `manage.py check --deploy`, gunicorn serving the site on a free port (the
proxy's X-Forwarded-Proto header sent by the test), and a small HTTP server standing in
for Sentry, receiving what sentry-sdk sends.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import zlib
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from sqlalchemy import text

from digest.config import load_settings
from digest.stores import db
from tests.conftest import REDIS_URL, TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]
HOST = "lanyard.test"
PASSWORD = "a-long-test-password-9"


def production_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "LANYARD_ENV": "production",
        "LANYARD_BASE_URL": f"https://{HOST}",
        "LANYARD_SECRET_KEYS": TEST_SECRET,
        "LANYARD_DATABASE_URL": database_url,
        "LANYARD_REDIS_URL": REDIS_URL,
        "LANYARD_REDIS_PREFIX": f"prod{os.getpid()}:",
        "LANYARD_DATA_DIR": str(data_dir),
        **extra,
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "site" / "manage.py"), *args], env=env, capture_output=True, text=True, timeout=180
    )


def test_check_deploy_is_clean_in_production(tmp_path):
    result = manage(production_env(f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path), "check", "--deploy")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout and "WARNING" not in result.stderr + result.stdout


def test_a_bad_value_stops_manage_py_in_one_line(tmp_path):
    result = manage(
        {**production_env(f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path), "LANYARD_DATA_DIR": "/proc/x"}, "check"
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and result.stderr.startswith("configuration: LANYARD_DATA_DIR: ")


class FakeSentry:
    """Takes sentry-sdk's envelopes (POST /api/<project>/envelope/) and keeps their decoded bodies."""

    def __init__(self):
        self.bodies: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    raw = gzip.decompress(raw)
                elif encoding == "deflate":
                    raw = zlib.decompress(raw)
                owner.bodies.append(raw.decode("utf-8", "replace"))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self.server.server_port}/42"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(env: dict[str, str], log: Path):
    port = free_port()
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--chdir",
                str(ROOT / "site"),
                "-c",
                "python:lanyard_site.gunicorn_conf",  # as the README runs it
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--threads",
                "4",
                "lanyard_site.wsgi:application",
            ],
            env={**env, "PYTHONPATH": f"{ROOT / 'site'}:{ROOT}"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(30)


class Browser:
    """Requests as the TLS proxy forwards them: Host, X-Forwarded-Proto: https, and the cookies
    (Secure ones too, since the browser's side of the connection is https)."""

    def __init__(self, url: str):
        self.client = httpx.Client(base_url=url, timeout=30, follow_redirects=False)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        headers = {"Host": HOST, "X-Forwarded-Proto": "https", **kwargs.pop("headers", {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = self.client.request(method, path, headers=headers, **kwargs)
        for header in response.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if value in ('""', "") or "max-age=0" in header.lower():
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return response

    def login(self, username: str) -> httpx.Response:
        form = self.request("GET", "/accounts/login/")
        assert form.status_code == 200
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
        return self.request(
            "POST",
            "/accounts/login/",
            data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Origin": f"https://{HOST}", "Referer": f"https://{HOST}/accounts/login/"},
        )


def test_behind_a_tls_proxy_login_works_and_errors_reach_operators(database_url, tmp_path, redis_client):
    with FakeSentry() as sentry:
        env = production_env(database_url, tmp_path, LANYARD_LOG_FORMAT="json", SENTRY_DSN=sentry.dsn)
        created = manage(
            {**env, "DJANGO_SUPERUSER_PASSWORD": PASSWORD},
            "createsuperuser",
            "--no-input",
            "--username",
            "root",
            "--email",
            "root@example.com",
        )
        assert created.returncode == 0, created.stderr
        collected = manage(env, "collectstatic", "--no-input", "-v", "0")  # as the deploy does
        assert collected.returncode == 0, collected.stderr
        log = tmp_path / "gunicorn.log"
        engine = db.make_engine(load_settings(env).database)
        with gunicorn(env, log) as url:
            anonymous = Browser(url)
            plain = anonymous.client.get("/accounts/login/", headers={"Host": HOST})  # no proxy header: http
            assert plain.status_code == 301 and plain.headers["location"] == f"https://{HOST}/accounts/login/"

            root = Browser(url)
            login = root.login("root")
            assert login.status_code == 302, login.text[:500]  # no CSRF 403 behind the proxy
            assert "sessionid" in root.cookies and "Secure" in " ".join(login.headers.get_list("set-cookie"))
            assert root.request("GET", "/").status_code == 200
            css = json.loads((tmp_path / "static" / "staticfiles.json").read_text())["paths"]["lanyard/site.css"]
            assert (tmp_path / "static" / f"{css}.gz").exists()  # compressed once, at collectstatic
            compressed = anonymous.request("GET", f"/static/{css}", headers={"Accept-Encoding": "gzip"})
            assert compressed.status_code == 200 and compressed.headers["content-encoding"] == "gzip"
            assert "immutable" in compressed.headers["cache-control"]

            with engine.begin() as connection:
                connection.execute(text('ALTER TABLE "event" RENAME TO "event_gone"'))
            try:
                technical = root.request("GET", "/")
                site_page = anonymous.request("GET", "/")
            finally:
                with engine.begin() as connection:
                    connection.execute(text('ALTER TABLE "event_gone" RENAME TO "event"'))
            assert technical.status_code == 500 and "Traceback" in technical.text and "event" in technical.text
            assert site_page.status_code == 500 and "Something went wrong" in site_page.text
            assert "Traceback" not in site_page.text

            deadline = time.monotonic() + 30
            while len([b for b in sentry.bodies if '"exception"' in b]) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
        engine.dispose()
    errors = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{") and '"ERROR"' in line]
    assert any(e["logger"] == "lanyard.site" and "Traceback" in e.get("exc_info", "") for e in errors), log.read_text()[
        -2000:
    ]
    assert any(e["logger"] == "django.request" and "Traceback" in e.get("exc_info", "") for e in errors)
    assert all(e["service"] == "site" for e in errors)
    events = [b for b in sentry.bodies if '"exception"' in b]
    assert len(events) >= 2  # both 500s reached Sentry: the superuser's and the anonymous visitor's
    assert any(re.search(r"(ProgrammingError|OperationalError|UndefinedTable)", b) for b in events)


def run_gunicorn(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gunicorn", "--chdir", str(ROOT / "site"), "--bind", f"127.0.0.1:{free_port()}", *args,
         "lanyard_site.wsgi:application"],
        env={**env, "PYTHONPATH": f"{ROOT / 'site'}:{ROOT}"},
        capture_output=True, text=True, timeout=180,
    )


def test_gunicorn_stops_in_one_line_on_a_bad_key_database_or_data_directory(tmp_path):
    good = production_env(f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path)
    bad = {
        "LANYARD_SECRET_KEYS": ("short", "LANYARD_SECRET_KEYS"),
        "LANYARD_DATABASE_URL": ("mysql://lanyard@db/lanyard", "LANYARD_DATABASE_URL"),
        "LANYARD_DATA_DIR": ("/proc/lanyard", "LANYARD_DATA_DIR"),
    }
    for name, (value, says) in bad.items():
        for args in (("-c", "python:lanyard_site.gunicorn_conf"), ("--workers", "1")):  # with the config, without
            result = run_gunicorn({**good, name: value}, *args)
            lines = [line for line in result.stderr.splitlines() if "lanyard site:" in line]
            assert result.returncode != 0 and "Traceback" not in result.stderr, (name, args, result.stderr)
            assert len(lines) == 1 and f"configuration: {says}" in lines[0], (name, args, result.stderr)
    unreachable = run_gunicorn(
        {**good, "LANYARD_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"},
        "-c", "python:lanyard_site.gunicorn_conf",
    )
    assert unreachable.returncode == 1 and "Traceback" not in unreachable.stderr
    assert unreachable.stderr.strip().count("\n") == 0
    assert unreachable.stderr.startswith("lanyard site: cannot use the database (")


def test_the_proxy_header_is_believed_only_from_trusted_proxies(database_url, tmp_path, redis_client):
    """gunicorn on loopback with LANYARD_TRUSTED_PROXIES naming another address: a client on
    loopback saying X-Forwarded-Proto: https is still on plain http (redirected), and cannot
    claim another address with X-Forwarded-For."""
    env = production_env(database_url, tmp_path, LANYARD_TRUSTED_PROXIES="192.0.2.10/32")
    assert manage(env, "collectstatic", "--no-input", "-v", "0").returncode == 0
    with gunicorn(env, tmp_path / "gunicorn.log") as url:
        forged = Browser(url).request("GET", "/accounts/login/")  # sends X-Forwarded-Proto: https
        assert forged.status_code == 301 and forged.headers["location"] == f"https://{HOST}/accounts/login/"
    env = production_env(database_url, tmp_path, LANYARD_TRUSTED_PROXIES="127.0.0.1")
    with gunicorn(env, tmp_path / "gunicorn.log") as url:
        assert Browser(url).request("GET", "/accounts/login/").status_code == 200
