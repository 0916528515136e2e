"""The browsing site in a real browser (Debian's Chromium, driven by Playwright): search,
a facet click, a directory filter, pagination, and not one Content-Security-Policy
violation on the way."""

from __future__ import annotations

import os

import pytest

from digest.search.documents import stream_documents
from lanyard_site import stores
from lanyard_site.events.models import Attendance, Event, Person, Topic
from tests.site.pages import days

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing: .ci/run installs Debian's chromium",
    ),
]


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls
    # between browser steps are ordinary synchronous ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(30_000)  # a loaded machine; every wait is for a condition
    tab.violations = []
    tab.on("console", lambda message: "Content Security Policy" in message.text and tab.violations.append(message.text))
    yield tab
    context.close()


@pytest.fixture
def catalogue():
    python = Topic.objects.create(name="Python")
    rust = Topic.objects.create(name="Rust")
    for n in range(30):
        conf = Event.objects.create(name=f"Python Gathering {n:02d}", start_date=days(2 + n), end_date=days(2 + n),
                                    city="Berlin" if n % 3 else "São Paulo", country="Germany" if n % 3 else "Brazil")
        conf.topics.add(python if n % 2 else rust)
    big = Event.objects.get(name="Python Gathering 00")
    for name in ["Zoë Ünal", "Дмитрий Иванов", "Ada Lovelace", "Grace Hopper", "李娜"]:
        Attendance.objects.create(person=Person.objects.create(name=name, bio="Python programmer"), event=big)
    with stores.engine().connect() as connection:
        stores.search().rebuild(stream_documents(connection))
    return big


def test_search_and_a_facet_click(page, catalogue):
    page.goto("/")
    page.fill("#home-q", "python")
    page.click(".hero-search button")
    page.wait_for_url("**/search/?q=python")
    assert page.locator(".results mark").first.inner_text().lower() == "python"
    assert "35 results" in page.locator(".column-main .meta").first.inner_text()
    page.click(".facet a:has-text('People')")
    page.wait_for_url("**type=person**")
    assert page.locator(".result").count() == 5
    assert page.locator(".facet-on").first.inner_text().startswith("People")
    page.click(".facet-on")  # removing the filter
    page.wait_for_url(lambda url: "type=" not in url)
    assert page.violations == []


def test_a_directory_filter(page, catalogue):
    page.goto(f"/events/{catalogue.slug}/attendees/")
    assert page.locator(".people-grid .person-chip").count() == 5
    page.fill(".filters input[name=q]", "zoe")
    page.click(".filters button")
    page.wait_for_url("**q=zoe**")
    assert page.locator(".people-grid .person-name").all_inner_texts() == ["Zoë Ünal"]
    assert page.violations == []


def test_pagination_keeps_the_filters(page, catalogue):
    page.goto("/events/?city=Berlin")
    assert page.locator(".event-list .event-row").count() == 20 and "20 events" in page.inner_text("main")
    page.goto("/events/")
    page.select_option("select[name=topic]", "python")
    page.click(".filters button")
    page.wait_for_url("**topic=python**")
    page.goto("/events/")
    assert page.locator(".pager").inner_text().count("Page 1 of 2") == 1
    page.click("a[rel=next]")
    page.wait_for_url("**page=2**")
    assert "Page 2 of 2" in page.locator(".pager").inner_text()
    assert page.locator(".event-row").count() == 5
    assert page.violations == []
