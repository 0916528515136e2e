"""In Chromium, as a person would: sign in, follow someone, see them first on an event page."""

from __future__ import annotations

import os

import pytest

from .conftest import PASSWORD, account, empty_live_graph, go, make_event, make_person

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def world(redis_client):
    """Made before the browser starts: Playwright's loop makes the ORM refuse this thread."""
    empty_live_graph(redis_client)
    me = make_person("me", name="Marie Curie")
    account(me)
    conf = make_event("conf", 5)
    people = {h: make_person(h, name=name) for h, name in (("ada", "Zoë Ada"), ("bob", "Bob Alpha"), ("cy", "Cy Beta"))}
    for person in people.values():
        go(person, conf)
    return me, people


@pytest.fixture
def browser(world):
    from playwright.sync_api import sync_playwright  # imported here: only the browser tests need it

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


def test_sign_in_follow_someone_see_them_first(live_server, world, browser, tmp_path):
    tab = browser.new_page()
    tab.goto(f"{live_server.url}/accounts/login/?next=/people/ada/")
    tab.fill("input[name=username]", "me")
    tab.fill("input[name=password]", PASSWORD)
    tab.click("main form[action='/accounts/login/'] button[type=submit]")
    tab.wait_for_url(f"{live_server.url}/people/ada/")
    assert "Signed in as" in tab.locator("header.site-header").inner_text()

    tab.click("form[action='/people/ada/follow/'] button")
    tab.wait_for_url(f"{live_server.url}/people/ada/")
    assert "You follow Zoë Ada." in tab.content()

    tab.goto(f"{live_server.url}/events/conf/")
    first = tab.locator(".followed-first a.followed")
    assert first.all_inner_texts() == ["Zoë Ada"]
    # In the attendee list, Zoë (last by name) now comes first, marked.
    attendees = tab.locator("section.panel", has=tab.locator("h2", has_text="Attendees")).locator("li.person-chip")
    assert attendees.locator(".person-name").all_inner_texts() == ["Zoë Ada", "Bob Alpha", "Cy Beta"]
    assert "followed" in attendees.first.get_attribute("class")
    tab.screenshot(path=os.environ.get("LANYARD_TEST_SCREENSHOT", str(tmp_path / "event.png")), full_page=True)

    tab.goto(f"{live_server.url}/calendar/")
    row = tab.locator("ul.calendar li.event-row")
    assert row.locator(".event-name").all_inner_texts() == ["Conf"]
    assert row.locator("p.followed").inner_text().startswith("Zoë Ada")
    assert row.locator("a.ics").get_attribute("href") == "/events/conf/event.ics"
    tab.screenshot(
        path=os.environ.get("LANYARD_TEST_SCREENSHOT", str(tmp_path / "event.png")).replace(".png", "-calendar.png"),
        full_page=True,
    )
