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
import ssl
import subprocess
import sys
import threading
import time
import zlib
from contextlib import contextmanager
from html import unescape as html_unescape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlalchemy import text

from digest.config import load_settings
from digest.stores import db
from tests.conftest import REDIS_URL, TEST_SECRET, create_postgres_database, drop_postgres_database
from tests.faults.servers import RedisServer

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
        engine = db.make_engine(load_settings(env).database.primary)
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


# -- the whole deploy, as the README's "Deploying" section does it --------------------------------

NGINX_SUBSTITUTIONS = (
    ("listen 80;", "listen 127.0.0.1:{http};"),
    ("listen [::]:80;", ""),
    ("listen 443 ssl;", "listen 127.0.0.1:{https} ssl;"),
    ("listen [::]:443 ssl;", ""),
    ("server 127.0.0.1:8000;", "server 127.0.0.1:{site};"),
    ("server 127.0.0.1:8001;", "server 127.0.0.1:{unsubscribe};"),
    ("/etc/ssl/lanyard/fullchain.pem", "{directory}/cert.pem"),
    ("/etc/ssl/lanyard/privkey.pem", "{directory}/key.pem"),
)


def nginx_config(directory: Path, **ports: int) -> Path:
    """deploy/nginx.conf with this test's ports and certificate, inside a main config of the test's own."""
    site = (ROOT / "deploy" / "nginx.conf").read_text().replace("lanyard.example.com", HOST)
    for old, new in NGINX_SUBSTITUTIONS:
        assert old in site, old  # the example still says what the test replaces
        site = site.replace(old, new.format(directory=directory, **ports))
    (directory / "lanyard.conf").write_text(site)
    temp = " ".join(
        f"{kind}_temp_path {directory}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (directory / "nginx.conf").write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"daemon off;\nworker_processes 1;\npid {directory}/nginx.pid;\nerror_log {directory}/error.log;\n"
        "events { worker_connections 64; }\n"
        f"http {{ include /etc/nginx/mime.types; access_log {directory}/access.log;\n"
        f"{temp}\ninclude {directory}/lanyard.conf; }}\n"
    )
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={HOST}",
         "-addext", f"subjectAltName=DNS:{HOST},IP:127.0.0.1",
         "-keyout", str(directory / "key.pem"), "-out", str(directory / "cert.pem")],
        check=True, capture_output=True, timeout=120,
    )
    return directory / "nginx.conf"


class Processes:
    """Long-running processes of the deploy, each in its own session, stopped in reverse order."""

    def __init__(self, env: dict[str, str], log_dir: Path):
        self.env, self.log_dir, self.running = env, log_dir, []

    def start(self, name: str, *args: str) -> subprocess.Popen:
        with open(self.log_dir / f"{name}.log", "ab") as log:
            process = subprocess.Popen(args, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        self.running.append((name, process))
        return process

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")[-3000:]

    def stop_all(self) -> None:
        for _, process in reversed(self.running):
            if process.poll() is None:
                process.terminate()
        for _, process in reversed(self.running):
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(30)


def lanyard_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "lanyard_cli", *args], env=env, cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result


def wait_for(what: str, condition, *, seconds: float = 180, sleep: float = 0.5):
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        assert time.monotonic() < deadline, f"no {what} within {seconds:.0f} s"
        time.sleep(sleep)
    return found


class Visitor:
    """A browser on the far side of nginx: https to the proxy, Host lanyard.test, cookies kept."""

    def __init__(self, port: int, cert: Path):
        self.origin = f"https://{HOST}:{port}"
        self.client = httpx.Client(
            base_url=f"https://127.0.0.1:{port}", verify=ssl.create_default_context(cafile=str(cert)), timeout=60,
            headers={"Host": f"{HOST}:{port}"},
        )

    def path_of(self, url: str) -> str:
        parts = urlsplit(url)
        assert not parts.netloc or parts.hostname == HOST, url  # every link and redirect stays on the site
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def get(self, url: str, *, hops: int = 5) -> httpx.Response:
        response = self.client.get(self.path_of(url))
        while response.status_code in (301, 302, 303) and hops:
            response, hops = self.client.get(self.path_of(response.headers["location"])), hops - 1
        return response

    def submit(self, page: str, action: str, data: dict[str, str]) -> httpx.Response:
        form = self.get(page)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert token, (page, form.status_code, form.text[:300])
        return self.client.post(
            self.path_of(action), data={**data, "csrfmiddlewaretoken": token.group(1)},
            headers={"Origin": self.origin, "Referer": self.origin + self.path_of(page)},
        )


def page_types(engine) -> list[str]:
    """One URL of every page type, from the deployed database."""
    with engine.connect() as c:
        slug = c.execute(
            text("SELECT e.slug FROM event e JOIN attendance a ON a.event_id = e.id ORDER BY e.id")
        ).first()[0]
        talk = c.execute(text("SELECT min(id) FROM session")).scalar_one()
        handle = c.execute(text("SELECT handle FROM person ORDER BY id")).first()[0]
        topic = c.execute(text("SELECT slug FROM topic ORDER BY id")).first()[0]
    return [
        "/", "/events/", "/events/?when=past", f"/events/{slug}/", f"/events/{slug}/attendees/?q=a",
        f"/events/{slug}/speakers/", f"/events/{slug}/event.ics", f"/talks/{talk}/", "/people/", "/people/?q=an",
        f"/people/{handle}/", "/topics/", f"/topics/{topic}/", "/coverage/", "/search/?q=python", "/calendar/",
        "/accounts/profile/", "/subscriptions/", "/accounts/login/", "/accounts/signup/", "/robots.txt",
    ]


def walk(visitors: list[Visitor], urls: list[str], *, may_refuse: tuple[str, ...] = ()) -> dict[str, int]:
    """Every URL for every visitor: the failures (a 5xx, except a 503 where ``may_refuse`` allows it)."""
    failed = {}
    for number, visitor in enumerate(visitors):
        for url in urls:
            status = visitor.get(url).status_code
            if status >= 500 and not (status == 503 and url.startswith(may_refuse)):
                failed[f"visitor {number}: {url}"] = status
    return failed


@contextmanager
def deployed(tmp_path: Path, smtp_url: str):
    """lanyard deployed as README's "Deploying" says: a fresh PostgreSQL database, a Redis of the
    test's own, migrate, the first superuser, static files, the graph and the search index, the
    site and the unsubscribe endpoint on gunicorn (loopback), nginx with TLS in front, a worker
    and the beat. Yields (env, the https port, the certificate, the Redis server, the processes)."""
    ports = {name: free_port() for name in ("http", "https", "site", "unsubscribe")}
    data, web = tmp_path / "data", tmp_path / "nginx"
    web.mkdir()
    database_url = create_postgres_database()
    redis_server = RedisServer(tmp_path / "redis")
    redis_server.start()
    base = f"https://{HOST}:{ports['https']}"
    env = production_env(
        database_url, data, LANYARD_REDIS_URL=redis_server.url(0), LANYARD_BASE_URL=base, LANYARD_MAIL_URL=smtp_url,
        LANYARD_SITE_BIND=f"127.0.0.1:{ports['site']}", LANYARD_UNSUBSCRIBE_BIND=f"127.0.0.1:{ports['unsubscribe']}",
    )
    processes = Processes(env, tmp_path)
    try:
        assert manage(env, "check", "--deploy").returncode == 0
        lanyard_command(env, "migrate")
        su = manage({**env, "DJANGO_SUPERUSER_PASSWORD": PASSWORD}, "createsuperuser", "--no-input",
                    "--username", "root", "--email", "root@example.com")
        assert su.returncode == 0, su.stderr
        assert manage(env, "collectstatic", "--no-input", "-v", "0").returncode == 0
        lanyard_command(env, "seed", "--people", "40", "--events", "15", "--subscribers", "10", "--seed", "3")
        lanyard_command(env, "graph", "rebuild")
        lanyard_command(env, "search", "rebuild")
        lanyard_command(env, "schedule", "set", "tick_seconds=10")  # the test's only departure: plan every beat tick
        gunicorn_ = [sys.executable, "-m", "gunicorn", "--workers", "1"]
        processes.start("site", *gunicorn_, "--chdir", "site", "-c", "python:lanyard_site.gunicorn_conf",
                        "lanyard_site.wsgi:application")
        processes.start("unsubscribe", *gunicorn_, "-c", "python:unsubscribe_web.gunicorn_conf",
                        "unsubscribe_web.asgi:create_asgi_app()")
        processes.start("nginx", "nginx", "-c", str(nginx_config(web, **ports)), "-p", str(web))
        processes.start("worker", sys.executable, "-m", "lanyard_cli", "worker", "-c", "1")
        processes.start("beat", sys.executable, "-m", "lanyard_cli", "beat")
        probe = Visitor(ports["https"], web / "cert.pem")

        def up() -> bool:
            for name, process in processes.running:
                assert process.poll() is None, f"{name} exited:\n{processes.log(name)}"
            try:
                # /u/x: a malformed link, refused by the endpoint itself (not a 502 from nginx)
                return probe.get("/healthz").status_code == 200 and probe.get("/u/x").status_code == 400
            except httpx.TransportError:
                return False

        wait_for("answer through nginx", up)
        yield env, ports["https"], web / "cert.pem", redis_server, processes
    finally:
        processes.stop_all()
        redis_server.stop()
        drop_postgres_database(database_url)


def digest_for(smtp_server, engine, email: str):
    """Wait for the beat and the worker to send ``email`` its digest (its send hour kept at
    the current hour, however long the wait): the message, parsed."""

    def sent():
        with engine.begin() as c:  # the hour may turn while waiting
            c.execute(text("UPDATE subscription SET send_hour = :h WHERE email = :e"),
                      {"h": time.gmtime().tm_hour, "e": email})
        return next((m.parsed() for m in smtp_server.messages
                     if email in m.rcpt_tos and m.parsed()["List-Unsubscribe"]), None)

    return wait_for(f"digest to {email}", sent, seconds=300, sleep=1)


def email_links(message) -> set[str]:
    links = set(re.findall(r"<(https://[^>]+)>", str(message["List-Unsubscribe"])))
    for part in message.walk():
        if part.get_content_type() == "text/html":
            links |= {html_unescape(h) for h in re.findall(r'href="([^"]+)"', part.get_content())}
        elif part.get_content_type() == "text/plain":
            links |= set(re.findall(r"https://[^\s<>\"]+", part.get_content()))
    return {link for link in links if link.startswith("https://")}


def test_deployed_behind_nginx_a_person_signs_up_follows_gets_mail_and_unsubscribes(tmp_path, smtp_server):
    with deployed(tmp_path, smtp_server.url) as (env, port, cert, redis_server, processes):
        engine = db.make_engine(load_settings(env).database.primary)
        person, anonymous = Visitor(port, cert), Visitor(port, cert)
        assert person.get("/").status_code == 200
        signed = person.submit("/accounts/signup/", "/accounts/signup/", {
            "username": "newbie", "email": "newbie@example.com", "name": "New Bie", "handle": "", "digest": "daily",
            "password1": PASSWORD, "password2": PASSWORD,
        })
        assert signed.status_code == 302, signed.text[:2000]
        with engine.connect() as c:
            handle = c.execute(
                text(
                    "SELECT p.handle FROM person p JOIN attendance a ON a.person_id = p.id"
                    " JOIN event e ON e.id = a.event_id WHERE e.start_date >= CURRENT_DATE"
                    " AND a.role IN ('attending', 'speaking') AND p.handle <> 'new-bie' ORDER BY p.id"
                )
            ).first()[0]
        followed = person.submit(f"/people/{handle}/", f"/people/{handle}/follow/", {})
        assert followed.status_code == 302 and person.get(f"/people/{handle}/").status_code == 200
        calendar = person.get("/calendar/")
        assert calendar.status_code == 200
        feed = re.search(r'<code class="feed-url">(https://[^<]+\.ics)</code>', calendar.text).group(1)
        ics = person.get(html_unescape(feed))
        assert ics.status_code == 200 and "BEGIN:VEVENT" in ics.text

        message = digest_for(smtp_server, engine, "newbie@example.com")
        links = email_links(message)
        unsubscribe = next(link for link in links if "/u/" in link)
        broken = {link: anonymous.get(link).status_code for link in links}
        assert not {link: status for link, status in broken.items() if status != 200}
        one_click = anonymous.client.post(anonymous.path_of(unsubscribe), data={"List-Unsubscribe": "One-Click"})
        assert one_click.status_code == 200 and "unsubscribed" in one_click.text
        wait_for("the unsubscribe applied", lambda: newbie_status(engine) == "unsubscribed")

        urls = page_types(engine)
        assert not walk([person, anonymous], urls)
        redis_server.stop()  # Redis away: every page answers from the database
        assert not walk([person, anonymous], urls)
        assert "Part of lanyard is unavailable" in person.get(urls[3]).text
        redis_server.start()
        wait_for("ready", lambda: person.get("/readyz").status_code == 200)
        live = (Path(env["LANYARD_DATA_DIR"]) / "search" / "current").resolve()
        live.rename(live.with_name(live.name + ".away"))  # the search index unreadable: search away
        try:
            assert not walk([person, anonymous], urls, may_refuse=("/search/",))
            assert "Part of lanyard is unavailable" in person.get("/people/?q=an").text
        finally:
            live.with_name(live.name + ".away").rename(live)
        engine.dispose()
    for name in ("site", "unsubscribe"):
        assert "Traceback" not in processes.log(name), processes.log(name)


def newbie_status(engine) -> str:
    with engine.connect() as c:
        return c.execute(text("SELECT status FROM subscription WHERE email = 'newbie@example.com'")).scalar_one()
