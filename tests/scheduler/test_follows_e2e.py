"""Your people, brought in: in Chromium, through a real Celery worker, to the event pages and the digest.

The site runs as `lanyard serve site`, the worker as `lanyard worker`; GitHub, a
Mastodon server and the Bluesky AppView are the stand-ins on 127.0.0.2 (the one address
the guarded client may reach), pointed to by the settings an operator sets. A brand-new
visitor signs in with GitHub, sees the import under way, then the people they follow and
where those are going; the next `lanyard digest run` mails them those events, caught by
a real SMTP server. Then a new visitor signs in with Mastodon and connects a Bluesky handle.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import insert

from digest.graph.store import Graph
from digest.graph.sync import rebuild
from digest.stores import db
from tests import factories
from tests.conftest import ROOT
from tests.scheduler.conftest import wait_until
from tests.standins.bluesky import BlueskyStandIn
from tests.standins.github import GitHubStandIn
from tests.standins.mastodon import MastodonStandIn

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("migrated_database_url", ["postgresql"], indirect=True)]
TODAY = dt.date.today()
WIDTHS = {"wide": 1280, "narrow": 390}


@pytest.fixture
def github():
    with GitHubStandIn() as server:
        yield server


@pytest.fixture
def mastodon():
    with MastodonStandIn() as server:
        yield server


@pytest.fixture
def bluesky():
    with BlueskyStandIn() as server:
        yield server


@pytest.fixture
def worker_env(worker_env, github, bluesky):
    """What an operator sets (README, "Bring your people"), pointed at the stand-ins."""
    return {**worker_env, "LANYARD_HTTP_ALLOW_NETWORKS": "127.0.0.2/32", "LANYARD_HTTP_DEADLINE": "5",
            "LANYARD_GITHUB_URL": github.base_url, "LANYARD_GITHUB_API_URL": github.base_url,
            "LANYARD_GITHUB_CLIENT_ID": "lanyard-e2e", "LANYARD_GITHUB_CLIENT_SECRET": "e2e-secret",
            "LANYARD_BLUESKY_APPVIEW_URL": bluesky.base_url}


@pytest.fixture
def world(engine, redis_client, prefix, github, mastodon, bluesky):
    """Three speakers an organiser linked to their accounts (unverified), each at an upcoming event:
    bob (GitHub) at PyCon Lyon, carol (Mastodon) at RustFest Porto, dan (Bluesky) at JSConf Oslo."""
    bob_gh = github.add_user("bob")
    mastodon.add_account("carol")
    dan_bsky = bluesky.add_profile("dan.example")
    events = {}
    with engine.begin() as c:
        for handle, provider, external_id, event, city, days in (
            ("bob", "github", str(bob_gh.id), "PyCon Lyon", "Lyon", 5),
            ("carol", "mastodon", mastodon.uri("carol"), "RustFest Porto", "Porto", 9),
            ("dan", "bluesky", dan_bsky.did, "JSConf Oslo", "Oslo", 12),
        ):
            person = factories.make_person(c, handle=handle, name=handle.title() + " Speaker")
            factories.make_account(c, person, provider, external_id, handle=handle, added_by="organiser")
            slug = event.lower().replace(" ", "-")
            events[handle] = slug
            event_id = factories.make_event(c, TODAY + dt.timedelta(days=days), name=event, slug=slug, city=city,
                                           country="")
            factories.make_attendance(c, person, event_id, "speaking")
        c.execute(insert(db.topic).values(name="Python", slug="python", cache_version=1))
    rebuild(Graph(redis_client, prefix), engine)  # a live graph: imports land in it after commit
    return events


def arrive(tab, url: str) -> None:
    """Wait for the browser to land on ``url``; else say where it is and what it reads."""
    try:
        tab.wait_for_url(url, timeout=60_000)
    except Exception:
        raise AssertionError(f"at {tab.url} instead of {url}: {tab.locator('main').inner_text()[:500]}") from None


def reach(tab, site) -> str:
    tab.goto(f"{site}/accounts/connected/")
    return tab.locator("#reach").inner_text()


def look(tab, tmp_path, name: str) -> None:
    """Screenshots at both widths (under the test's tmp_path, or LANYARD_TEST_SHOTS when set, to look
    at), and nothing wider than the window."""
    folder = Path(os.environ.get("LANYARD_TEST_SHOTS") or tmp_path)
    for label, width in WIDTHS.items():
        tab.set_viewport_size({"width": width, "height": 900})
        tab.screenshot(path=str(folder / f"{name}-{label}.png"), full_page=True)
        overflow = tab.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name} is wider than {width} px"
    tab.set_viewport_size({"width": WIDTHS["wide"], "height": 900})


def digest_run(worker_env) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANYARD_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(worker_env)
    return subprocess.run([sys.executable, "-c", "from lanyard_cli.main import main; main()", "digest", "run",
                           "--date", str(TODAY)], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_a_new_visitor_signs_in_with_github_and_their_people_reach_pages_and_digest(
        world, github, site, workers, browser, smtp_server, worker_env, tmp_path):
    github.add_user("octo", email="octo@example.com", following=[github.users["bob"].id, 424242, 434343])
    github.signed_in = "octo"
    tab = browser.new_page(viewport={"width": WIDTHS["wide"], "height": 900})
    tab.goto(f"{site}/accounts/login/")
    tab.click("#sign-in-with button:has-text('Sign in with GitHub')")
    arrive(tab, f"{site}/accounts/connected/")
    # No worker yet: the page says the import is under way, and looks again by itself.
    assert "Importing whom you follow…" in tab.locator("#reach").inner_text()
    assert tab.locator(".connected[data-provider=github] .importing").count() == 1
    assert tab.locator("meta[http-equiv=refresh]").count() == 1
    look(tab, tmp_path, "people-importing")

    workers.start(concurrency=1)
    wait_until(lambda: "1 person you follow is going to 1 upcoming event" in reach(tab, site), timeout=120,
               interval=1.0, message="the imported follows on Your people")
    row = tab.locator(".connected[data-provider=github]")
    assert "octo" in row.inner_text() and "verified (signed in)" in row.inner_text()
    assert "Follows 3 accounts: 1 on lanyard, 2 not (yet); 1 follow from this account." in " ".join(
        row.locator(".counts").inner_text().split())
    assert tab.locator("meta[http-equiv=refresh]").count() == 0
    look(tab, tmp_path, "people-imported")

    tab.goto(f"{site}/events/{world['bob']}/")
    assert tab.locator(".followed-first").inner_text().startswith("People you follow here (1)")
    assert "Bob Speaker" in tab.locator(".followed-first").inner_text()
    look(tab, tmp_path, "event")
    tab.goto(f"{site}/events/")
    assert tab.locator(".going", has_text="1 person you follow is going").count() == 1
    look(tab, tmp_path, "events")

    done = digest_run(worker_env)
    assert done.returncode == 0, done.stdout + done.stderr
    mails = [m for m in smtp_server.messages if "octo@example.com" in m.rcpt_tos]
    assert len(mails) == 1, done.stdout
    body = mails[0].parsed().get_body(("plain",)).get_content()
    assert "PyCon Lyon" in body and "Bob Speaker" in body
    assert "RustFest Porto" not in body  # nobody octo follows speaks there


def test_a_new_visitor_signs_in_with_mastodon_then_connects_bluesky(
        world, mastodon, bluesky, site, workers, browser, tmp_path):
    mastodon.add_account("erin", following=[mastodon.uri("carol"), "https://elsewhere.example/users/zed"])
    mastodon.signed_in = "erin"
    bluesky.add_profile("erin.example", follows=[bluesky.profiles[next(iter(bluesky.profiles))].did])
    workers.start(concurrency=1)
    tab = browser.new_page(viewport={"width": WIDTHS["wide"], "height": 900})
    tab.goto(f"{site}/accounts/login/")
    tab.fill("#signin-mastodon-server", mastodon.base_url)
    tab.click("#sign-in-with button:has-text('Sign in with Mastodon')")
    arrive(tab, f"{site}/accounts/connected/")
    assert f"signed in with Mastodon as erin@{mastodon.host}" in tab.locator(".notice").first.inner_text()
    wait_until(lambda: "1 person you follow is going to 1 upcoming event" in reach(tab, site), timeout=120,
               interval=1.0, message="the Mastodon follows on Your people")
    assert len(mastodon.apps) == 1  # lanyard registered itself on that server on first use

    tab.fill("#bluesky-handle", "erin.example")
    tab.click("form.connect-bluesky button[type=submit]")
    arrive(tab, f"{site}/accounts/connected/")
    assert "Connected Bluesky erin.example, unverified" in tab.locator(".notice").first.inner_text()
    wait_until(lambda: "2 people you follow are going to 2 upcoming events" in reach(tab, site), timeout=120,
               interval=1.0, message="the Bluesky follows on Your people")
    assert tab.locator(".connected[data-provider=bluesky]").inner_text().count("unverified") == 1
    look(tab, tmp_path, "people-mastodon-bluesky")
    for handle in ("carol", "dan"):
        tab.goto(f"{site}/events/{world[handle]}/")
        assert f"{handle.title()} Speaker" in tab.locator(".followed-first").inner_text()
