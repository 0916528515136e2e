"""The seeded site as a visitor and a mail reader meet it, on SQLite and on PostgreSQL:
every internal link from / and from every event, person, talk and topic page answers,
and so does every link in every email of a real digest run. Names come in many scripts
and with accents (the seed's), so every slug and handle goes through digest.slugs."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import deque
from email import policy
from email.parser import BytesParser
from html import unescape
from urllib.parse import urlsplit

import httpx
import pytest
from django.db import connections
from django.utils import timezone

from digest.demo.seed import SeedPlan, seed
from digest.search.documents import stream_documents
from lanyard_site import stores
from lanyard_site.events.models import Event, Person, Session, Topic
from tests.conftest import REDIS_URL, TEST_SECRET
from tests.site.pages import alias  # noqa: F401  (the fixture: SQLite and PostgreSQL)
from unsubscribe_web.app import create_app

pytestmark = [pytest.mark.django_db(transaction=True, databases=["default", "postgresql"]), pytest.mark.slow]

BASE = "http://testserver"
HREF = re.compile(r'href="([^"]*)"')
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_STYLE = re.compile(r"\sstyle=|<style", re.I)
# Not pages of the browsing site: the admin, the sign-in flow's POST-only and feed links.
SKIP = ("/admin/", "/static/", "/accounts/logout/")


@pytest.fixture
def seeded(alias):
    """A small seeded catalogue (names in many scripts) in this test's database, and its
    search index."""
    engine = stores.engine(alias)
    seed(engine, SeedPlan(people=90, events=40, subscribers=40, seed=7, today=timezone.localdate()))
    with engine.connect() as connection:
        stores.search().rebuild(stream_documents(connection))
    return engine


def crawl(client, starts: list[str]) -> dict[str, int]:
    """Follow every internal link from ``starts``: URL → status. Every page answering 200
    is also checked for what the Content-Security-Policy forbids (inline script or style)."""
    seen: dict[str, int] = {}
    queue = deque(starts)
    while queue:
        url = queue.popleft()
        if url in seen:
            continue
        response = client.get(url)
        seen[url] = response.status_code
        if response.status_code in (301, 302):
            queue.append(response["Location"])
            continue
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        page = response.content.decode()
        assert not INLINE_SCRIPT.search(page) and not INLINE_STYLE.search(page), url
        assert "default-src 'none'" in response["Content-Security-Policy"], url
        for href in HREF.findall(page):
            href = unescape(href)
            if href.startswith("?"):
                href = urlsplit(url).path + href
            if href.startswith("/") and not href.startswith("//") and not href.startswith(SKIP):
                queue.append(href)
    return seen


def test_every_internal_link_answers(client, seeded):
    from django.test import override_settings

    from digest.ops.ratelimit import RateLimit

    # Pages link to their JSON twins (<link rel="alternate">), which the crawl follows too: one
    # address asking hundreds of them must not meet the API's per-address rate limit.
    with override_settings(LANYARD_API_RATE_PER_ADDRESS=RateLimit(requests=10**6, seconds=60)):
        _crawl_every_page(client)


def _crawl_every_page(client):
    starts = ["/"]
    starts += [f"/events/{slug}/" for slug in Event.objects.values_list("slug", flat=True)]
    starts += [f"/people/{handle}/" for handle in Person.objects.values_list("handle", flat=True)]
    starts += [f"/talks/{pk}/" for pk in Session.objects.values_list("pk", flat=True)]
    starts += [f"/topics/{slug}/" for slug in Topic.objects.values_list("slug", flat=True)]
    seen = crawl(client, starts)
    broken = {url: status for url, status in seen.items() if status not in (200, 301, 302)}
    assert not broken
    # The crawl did meet what it is about: names beyond ASCII, and each kind of page.
    assert Person.objects.exclude(name__regex=r"^[A-Za-z ]+$").exists()
    for kind in ("/events/", "/people/", "/talks/", "/topics/", "/coverage/", "/search/", "/attendees/", "/speakers/"):
        assert any(kind in url for url in seen), kind
    assert len(seen) > len(starts)


def _database_url(alias: str) -> str:
    settings_dict = connections[alias].settings_dict
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    return (f"postgresql://{settings_dict['USER']}:{settings_dict['PASSWORD'] or ''}@{settings_dict['HOST']}:"
            f"{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}")


def _links(message) -> set[str]:
    links: set[str] = set()
    for part in message.walk():
        if part.get_content_type() == "text/html":
            links |= {unescape(h) for h in HREF.findall(part.get_content())}
        elif part.get_content_type() == "text/plain":
            links |= set(re.findall(r"https?://[^\s<>\"]+", part.get_content()))
    for header in ("List-Unsubscribe",):
        links |= set(re.findall(r"<(https?://[^>]+)>", str(message.get(header, ""))))
    return links


def test_every_link_in_every_email_of_a_digest_run_answers(client, alias, seeded, monkeypatch, tmp_path, redis_client):
    outbox = tmp_path / "outbox"
    env = {
        "LANYARD_DATABASE_URL": _database_url(alias), "LANYARD_REDIS_URL": REDIS_URL, "LANYARD_REDIS_PREFIX": "crawl:",
        "LANYARD_DATA_DIR": str(tmp_path / "var"), "LANYARD_SECRET_KEYS": TEST_SECRET, "LANYARD_BASE_URL": BASE,
        "LANYARD_MAIL_URL": f"maildir://{outbox}",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # The real command, in its own process (its database connections end with it).
    for command in (["graph", "rebuild"], ["digest", "run", "--date", timezone.localdate().isoformat()]):
        done = subprocess.run(
            [sys.executable, "-m", "lanyard_cli", *command], capture_output=True, text=True, timeout=600,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    emails = [BytesParser(policy=policy.default).parse(path.open("rb")) for path in sorted((outbox / "new").glob("*"))]
    assert len(emails) >= 5, "the seeded run should send a handful of digests"

    from digest.config import load_settings

    endpoint = create_app(load_settings(), engine=seeded, redis=redis_client)
    unsubscribe = httpx.Client(transport=httpx.WSGITransport(app=endpoint), base_url=BASE)
    links = set().union(*(_links(message) for message in emails))
    event_links = [link for link in links if "/events/" in link]
    assert event_links, "the digests link their events"
    failures = {}
    for link in sorted(links):
        parts = urlsplit(link)
        assert f"{parts.scheme}://{parts.netloc}" == BASE, link  # every link is absolute, on the site
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if parts.path.startswith(("/u/", "/r/")):
            status = unsubscribe.get(path).status_code  # a GET only shows the confirmation page
        else:
            response = client.get(path, follow=True)
            status = response.status_code
        if status != 200:
            failures[link] = status
    assert not failures
