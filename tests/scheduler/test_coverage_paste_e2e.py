"""A paste on a talk page, in a real browser, through a real Celery worker, to every page that shows it.

The site runs as `lanyard serve site`, the worker as `lanyard worker`, the pasted link is
a page on the loopback test server (the only address allowed), and Chromium does what a
person would: sign in, paste, see "fetching…", then find the fetched title on the talk,
event, person and topic pages. And the author's side of links that fail: a loopback address
lanyard refuses (shown to its author alone, with why) and a page that is missing, in plain
words; then the author removes the refused one after confirming. Screenshots at 390 and
1280 px go to ``LANYARD_TEST_SCREENSHOTS`` when set.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text

from digest.stores import db
from tests.scheduler.conftest import wait_until
from tests.web_server import page

pytestmark = pytest.mark.slow
NOW = dt.datetime.now(dt.UTC)
TITLE = "Compilers for fun — the slides"


@pytest.fixture
def worker_env(worker_env):
    return {**worker_env, "LANYARD_HTTP_ALLOW_NETWORKS": "127.0.0.2/32", "LANYARD_HTTP_DEADLINE": "5"}


def _password_hash(password: str) -> str:
    # The server runs Django's default hashers (the in-process test settings use MD5).
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    return PBKDF2PasswordHasher().encode(password, "lanyardtestsalt", iterations=1000)


@pytest.fixture
def world(engine):
    today = dt.date.today() + dt.timedelta(days=3)
    with engine.begin() as connection:
        # auth_user is Django's, outside the tables database_url empties: the module's other test left Ada.
        connection.execute(text("DELETE FROM auth_user WHERE username = 'ada'"))
        user_id = connection.execute(
            text(
                "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, "
                "is_active, date_joined)"
                " VALUES (:password, false, 'ada', '', '', 'ada@example.com', false, true, :now) RETURNING id"
            ),
            {"password": _password_hash("correct horse"), "now": NOW},
        ).scalar_one()
        person_id = connection.execute(insert(db.person).values(
            name="Ada Lovelace", handle="ada", bio="", avatar_url="", timezone="UTC", cache_version=1, user_id=user_id,
        ).returning(db.person.c.id)).scalar_one()
        topic_id = connection.execute(insert(db.topic).values(name="Compilers", slug="compilers", cache_version=1)
                                      .returning(db.topic.c.id)).scalar_one()
        event_id = connection.execute(insert(db.event_).values(
            name="PyCon Lyon", slug="pycon-lyon", description="", start_date=today, end_date=today, timezone="UTC",
            venue="", city="Lyon", country="France", url="", cfp_deadline=None, cache_version=1, created_at=NOW,
        ).returning(db.event_.c.id)).scalar_one()
        connection.execute(insert(db.event_topic).values(event_id=event_id, topic_id=topic_id))
        talk_id = connection.execute(insert(db.session).values(
            event_id=event_id, title="Compilers for fun", abstract="", starts_at=None, cache_version=1,
        ).returning(db.session.c.id)).scalar_one()
        connection.execute(insert(db.session_speaker).values(session_id=talk_id, person_id=person_id))
    return {"talk": talk_id}


@pytest.mark.parametrize("migrated_database_url", ["postgresql"], indirect=True)
def test_a_pasted_link_is_fetched_and_shown_on_talk_event_person_and_topic_pages(
        world, web_server, workers, site, browser, tmp_path):
    link = web_server.route("/slides", page(f'<title>ignored</title><meta property="og:title" content="{TITLE}">'))
    tab = browser.new_page()
    tab.goto(f"{site}/accounts/login/?next=/talks/{world['talk']}/")
    login = tab.locator("main form", has=tab.locator("input[name=password]"))
    login.locator("input[name=username]").fill("ada")
    login.locator("input[name=password]").fill("correct horse")
    login.locator("button[type=submit]").click()
    tab.wait_for_url(f"{site}/talks/{world['talk']}/")
    tab.fill("form.paste-link input[name=url]", link)
    tab.click("form.paste-link button[type=submit]")
    tab.wait_for_url(f"{site}/talks/{world['talk']}/#coverage")
    # No worker is running yet: the author sees the link, titled by its URL, fetching.
    assert "Link added; lanyard is fetching it now." in tab.content()
    assert tab.locator("#coverage li", has_text=link).locator(".coverage-status").inner_text() == "· fetching…"

    workers.start(concurrency=1)

    def fetched() -> bool:
        tab.goto(f"{site}/talks/{world['talk']}/")
        return tab.locator("#coverage a", has_text=TITLE).count() == 1

    wait_until(fetched, timeout=90, interval=0.5, message="the fetched title on the talk page")
    assert tab.locator(".coverage-status").count() == 0
    tab.screenshot(path=str(tmp_path / "talk.png"), full_page=True)
    for path in ("/events/pycon-lyon/", "/people/ada/", "/topics/compilers/"):
        tab.goto(site + path)
        assert tab.locator("#coverage a", has_text=TITLE).get_attribute("href") == link, path
        tab.screenshot(path=str(tmp_path / f"{path.strip('/').replace('/', '-')}.png"), full_page=True)


def _sign_in(tab, site: str, next_path: str) -> None:
    tab.goto(f"{site}/accounts/login/?next={next_path}")
    login = tab.locator("main form", has=tab.locator("input[name=password]"))
    login.locator("input[name=username]").fill("ada")
    login.locator("input[name=password]").fill("correct horse")
    login.locator("button[type=submit]").click()
    tab.wait_for_url(site + next_path)


def _paste(tab, site: str, talk_path: str, link: str) -> None:
    tab.fill("form.paste-link input[name=url]", link)
    tab.click("form.paste-link button[type=submit]")
    tab.wait_for_url(f"{site}{talk_path}#coverage")


def _shots(tab, folder, name: str) -> None:
    for width in (390, 1280):
        tab.set_viewport_size({"width": width, "height": 900})
        assert tab.evaluate("document.documentElement.scrollWidth") <= width, (name, width)
        tab.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)


@pytest.mark.parametrize("migrated_database_url", ["postgresql"], indirect=True)
def test_the_author_sees_why_links_failed_and_removes_a_refused_one(
        world, web_server, workers, site, browser, engine, tmp_path):
    shots = Path(os.environ.get("LANYARD_TEST_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    talk = f"/talks/{world['talk']}/"
    private = f"http://127.0.0.1:{web_server.port}/internal"  # loopback, but not the one address allowed
    missing = web_server.url("/gone")  # the test server answers 404
    tab = browser.new_page()
    _sign_in(tab, site, talk)
    _paste(tab, site, talk, private)
    _paste(tab, site, talk, missing)
    workers.start(concurrency=1)

    def statuses() -> dict[str, str]:
        tab.goto(site + talk)
        return {link: tab.locator("#coverage li", has_text=link).locator(".coverage-status").inner_text()
                for link in (private, missing)}

    wait_until(lambda: "fetching…" not in " ".join(statuses().values()), timeout=120, interval=0.5,
               message="both fetches to end")
    found = statuses()
    assert found[private] == ("Only you see this link: lanyard will not fetch it, as it points at a private or "
                              "local network address, which lanyard never fetches.")
    assert found[missing] == "· could not fetch it: the site says there is no such page"
    assert "Errno" not in tab.content() and "address not allowed" not in tab.content()
    _shots(tab, shots, "coverage-author")

    others = browser.new_page()
    others.goto(site + talk)
    assert private not in others.content() and "127.0.0.1" not in others.content()
    assert others.locator("#coverage li", has_text=missing).count() == 1  # a failed link is still listed
    assert others.locator("#coverage .remove-link").count() == 0

    tab.locator("#coverage li", has_text=private).locator("a.remove-link").click()
    tab.wait_for_url(f"{site}/coverage/*/remove/")
    assert tab.locator("h1").inner_text() == "Remove this link?"
    assert private in tab.locator(".remove-link-details").inner_text()
    _shots(tab, shots, "coverage-remove")
    tab.click("form.confirm button[type=submit]")
    tab.wait_for_url(f"{site}{talk}#coverage")
    assert f"Link removed: {private}" in tab.content()
    assert tab.locator("#coverage li", has_text=private).count() == 0
    assert tab.locator("#coverage li", has_text=missing).count() == 1
    with engine.connect() as connection:
        audit = connection.execute(select(db.ops_change.c.name, db.ops_change.c.changed_by, db.ops_change.c.via)).all()
    assert [(changed_by, via) for _, changed_by, via in audit] == [("ada", "site")]
    assert audit[0][0].startswith("coverage:")
