"""Every page type in Chromium at 390 and 1280 px, signed out and signed in: nothing wider than
a phone's screen (``document.documentElement.scrollWidth <= 390``) and no serious or critical
axe-core violation (axe-core as bundled by axe-playwright-python); contrast computed from
Chromium's colours where axe does not look (aria-hidden initials, the aria-disabled pager).
Also what the buttons, forms and the unsubscribe pages show. Screenshots go to ``LANYARD_TEST_SCREENSHOTS`` when set."""

from __future__ import annotations

import datetime as dt
import os
import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import override_settings

from digest.search.documents import stream_documents
from digest.tokens import SubscriptionRef, TokenSigner
from lanyard_site import stores
from lanyard_site.events.models import Attendance, Coverage, Event, Follow, Person, Session, Topic
from lanyard_site.mailing.models import Subscription
from tests.site.personal.conftest import PASSWORD, empty_live_graph

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing: .ci/services installs it"),
]
PHONE = 390
LONG_QUERY = "supercalifragilisticexpialidocious" * 3 + " conference"
SERIOUS = {"serious", "critical"}


def today() -> dt.date:
    return dt.date.today()


@pytest.fixture
def world(redis_client):
    """Made before the browser starts (Playwright's loop makes the ORM refuse this thread)."""
    empty_live_graph(redis_client)
    topics = [Topic.objects.create(name=name) for name in ("python", "Rust", "django", "Accessibility")]
    conf = Event.objects.create(
        name="International Conference on Extraordinarily Long Event Names 2026", slug="conf",
        start_date=today() + dt.timedelta(days=5), end_date=today() + dt.timedelta(days=6), city="Zürich",
        country="Switzerland", cfp_deadline=today() + dt.timedelta(days=2), description="All about Python.",
    )
    conf.topics.add(*topics)
    past = Event.objects.create(name="Old Meetup", slug="old", start_date=today() - dt.timedelta(days=30),
                                end_date=today() - dt.timedelta(days=30))
    quiet = Event.objects.create(name="Quiet Meetup", slug="quiet", start_date=today() + dt.timedelta(days=9),
                                 end_date=today() + dt.timedelta(days=9))
    me = Person.objects.create(name="Marie Curie", handle="marie")
    me.user = User.objects.create_user("marie", password=PASSWORD, email="marie@example.com")
    me.save()
    Subscription.objects.create(person=me, email="marie.with.a.long.address@example-university.edu", list="daily")
    speakers = [Person.objects.create(name=name, handle=handle) for name, handle in (
        ("אורי לוי", "ori"), ("Zoë Ünal", "zoe"), ("Дмитрий Иванов", "dmitry"), ("李娜", "li"))]
    talk = Session.objects.create(event=conf, title="A talk with a title long enough to wrap on a phone screen")
    talk.speakers.add(speakers[0])
    for person in speakers:
        Attendance.objects.create(person=person, event=conf, role="speaking")
        Follow.objects.create(follower=me, followee=person)
    Attendance.objects.create(person=me, event=quiet, role="attending")
    Coverage.objects.create(session=talk, url="https://slides.example/talk", title="The slides", kind="slides",
                            status="ok", added_by=speakers[1])
    # Marie's link that lanyard refused: on the talk page for her alone, and its removal page.
    refused = Coverage.objects.create(session=talk, url="http://127.0.0.1:8000/internal/" + "x" * 60,
                                      title="http://127.0.0.1:8000/internal/", status="refused",
                                      failure="private address", added_by=me)
    with stores.engine().connect() as connection:
        stores.search().rebuild(stream_documents(connection))
    from digest.graph.sync import rebuild

    rebuild(stores.graph(), stores.engine())
    return {"conf": conf, "past": past, "quiet": quiet, "talk": talk, "me": me, "refused": refused}


@pytest.fixture
def browser(world, monkeypatch):
    from playwright.sync_api import sync_playwright  # only the browser tests need it

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


def pages(world) -> list[str]:
    return [
        "/", "/events/", "/events/?when=past", "/events/conf/", "/events/old/", "/events/conf/speakers/",
        f"/talks/{world['talk'].pk}/", "/people/", "/people/ori/", "/topics/", "/topics/python/", "/coverage/",
        "/search/?q=python", f"/search/?q={LONG_QUERY}", "/search/?q=nothingmatchesthis", "/accounts/login/",
        "/accounts/signup/", "/accounts/password-reset/", "/no/such/page/",
    ]


SIGNED_IN_PAGES = ["/calendar/", "/accounts/profile/", "/subscriptions/"]


def sign_in(tab, base: str) -> None:
    tab.goto(f"{base}/accounts/login/")
    tab.fill("input[name=username]", "marie")
    tab.fill("input[name=password]", PASSWORD)
    tab.click("main form button[type=submit]")
    tab.wait_for_url(lambda url: "/accounts/login/" not in url)


def axe_problems(tab) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(tab)
    return [
        f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']} {v['nodes'][0].get('failureSummary', '')[:160]}"
        for v in results.response["violations"] if v["impact"] in SERIOUS
    ]


def check_page(tab, url: str, shots: Path | None, name: str) -> list[str]:
    """Problems of one page at both widths: overflow at 390 px and serious axe violations."""
    problems = []
    for width in (PHONE, 1280):
        tab.set_viewport_size({"width": width, "height": 900})
        response = tab.goto(url)
        assert response is not None and response.status < 500, (url, response and response.status)
        if width == PHONE:
            scroll = tab.evaluate("document.documentElement.scrollWidth")
            if scroll > PHONE:
                problems.append(f"{url}: {scroll}px wide at {PHONE}px")
        if shots is not None:
            tab.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
    problems += [f"{url}: {p}" for p in axe_problems(tab)]
    dangling = tab.evaluate(
        "[...document.querySelectorAll('[aria-describedby]')].flatMap(e => e.getAttribute('aria-describedby')"
        ".split(/\\s+/)).filter(id => id && !document.getElementById(id))"
    )
    problems += [f"{url}: aria-describedby names a missing id {name!r}" for name in dangling]
    return problems


def screenshots() -> Path | None:
    folder = os.environ.get("LANYARD_TEST_SCREENSHOTS")
    if not folder:
        return None
    Path(folder).mkdir(parents=True, exist_ok=True)
    return Path(folder)


def slug(url: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in url.strip("/"))[:60] or "home"


@override_settings(DEBUG=True)  # the development 404 as `lanyard up` shows it
def test_every_page_fits_a_phone_and_passes_axe_signed_out_and_in(live_server, world, browser):
    shots = screenshots()
    context = browser.new_context(base_url=live_server.url)
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    problems = []
    for url in pages(world):
        problems += check_page(tab, url, shots, "out-" + slug(url))
    sign_in(tab, live_server.url)
    for url in [*pages(world), *SIGNED_IN_PAGES, f"/coverage/{world['refused'].pk}/remove/"]:
        problems += check_page(tab, url, shots, "in-" + slug(url))
    context.close()
    assert problems == [], "\n".join(problems)


def test_buttons_say_your_part_and_speaking_needs_grounds(live_server, world, browser):
    tab = browser.new_page(base_url=live_server.url)
    sign_in(tab, live_server.url)
    tab.goto("/events/quiet/")
    assert tab.locator("#your-part").inner_text() == "You are going."
    assert tab.locator("button[value=attending]").get_attribute("aria-pressed") == "true"
    assert tab.locator("button[value=tracking]").get_attribute("aria-pressed") == "false"
    assert tab.locator("button[value=speaking]").count() == 0  # no talk of mine, no open call
    tab.goto("/events/old/")
    assert tab.locator("button[value=speaking]").count() == 0  # over
    tab.goto("/events/conf/")  # the call for speakers is open
    tab.click("button[value=speaking]")
    tab.wait_for_url("**/events/conf/")
    assert tab.locator("#your-part").inner_text() == "You are speaking."
    assert tab.locator("button[value=speaking]").get_attribute("aria-pressed") == "true"
    # My own events are in my calendar.
    tab.goto("/calendar/")
    assert set(tab.locator("ul.calendar .event-name").all_inner_texts()) >= {"Quiet Meetup"}


def test_the_unsubscribe_pages_have_lanyards_look(world, browser):
    from unsubscribe_web.app import create_app
    from unsubscribe_web.devserver import make_dev_server

    server = make_dev_server(create_app(settings.LANYARD), "127.0.0.1", 0, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        subscription = Subscription.objects.get()
        token = TokenSigner(settings.LANYARD.secret_keys).sign("unsubscribe", SubscriptionRef(subscription.pk, "daily"))
        tab = browser.new_page()
        problems = check_page(tab, f"http://127.0.0.1:{server.server_port}/u/{token}", screenshots(), "unsubscribe")
        assert problems == []
        assert tab.locator(".brand").inner_text().endswith("lanyard")
        accent = tab.evaluate("getComputedStyle(document.querySelector('button')).backgroundColor")
        assert accent == "rgb(43, 85, 214)"  # the site's --accent
        tab.click("button")
        tab.wait_for_load_state()
        assert check_page(tab, tab.url, screenshots(), "unsubscribed") == []
    finally:
        server.shutdown()
        server.server_close()


# The colours a reader sees, composited as Chromium computed them: the text's colour (its
# alpha and every ancestor's opacity applied) over the nearest opaque background beneath it,
# any translucent backgrounds between blended in, on a white canvas. Background images are
# not drawn; lanyard's text never sits on one.
SEEN_COLOURS = """(selector) => [...document.querySelectorAll(selector)].map(el => {
  const rgba = s => { const p = s.match(/[\\d.]+/g).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const text = rgba(getComputedStyle(el).color);
  let opacity = 1;
  const layers = [];
  for (let node = el; node; node = node.parentElement) {
    const style = getComputedStyle(node);
    opacity *= Number(style.opacity);
    const background = rgba(style.backgroundColor);
    if (background[3] > 0) layers.unshift(background);
    if (background[3] >= 1) break;
  }
  let under = [255, 255, 255];
  for (const [r, g, b, a] of layers) under = [r, g, b].map((c, i) => c * a + under[i] * (1 - a));
  const alpha = text[3] * opacity;
  return {
    what: el.closest('[class]').className + ' ' + JSON.stringify(el.textContent.trim()),
    text: text.slice(0, 3).map((c, i) => c * alpha + under[i] * (1 - alpha)),
    background: under,
  };
})"""


def contrast(first: list[float], second: list[float]) -> float:
    """WCAG 2's contrast ratio of two sRGB colours (0–255 per channel)."""
    def luminance(colour: list[float]) -> float:
        linear = [(c / 255 / 12.92) if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in colour]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def low_contrast(tab, selector: str) -> tuple[int, list[str]]:
    """How many elements ``selector`` finds, and those under 4.5:1 (WCAG AA for body text)."""
    seen = tab.evaluate(SEEN_COLOURS, selector)
    return len(seen), [
        f"{s['what']}: {contrast(s['text'], s['background']):.2f}:1"
        for s in seen if contrast(s["text"], s["background"]) < 4.5
    ]


def test_the_contrast_function_agrees_with_wcag():
    assert round(contrast([0, 0, 0], [255, 255, 255]), 1) == 21.0
    assert round(contrast([118, 118, 118], [255, 255, 255]), 2) == 4.54  # #767676, the lightest grey passing AA


@pytest.fixture
def crowd(world):
    """Enough speakers for two pages of /people/, their handles giving every avatar hue."""
    from lanyard_site.events.templatetags.lanyard import AVATAR_HUES, hue

    handles = [f"crowd-{i}" for i in range(60)]  # the directory pages by 50
    assert {hue(h) for h in handles} == {f"hue-{n}" for n in range(AVATAR_HUES)}
    for handle in handles:
        person = Person.objects.create(name=f"Crowd {handle.title()}", handle=handle)
        Attendance.objects.create(person=person, event=world["quiet"], role="speaking")
    with stores.engine().connect() as connection:
        stores.search().rebuild(stream_documents(connection))
    return handles


def test_initials_and_the_disabled_pager_keep_4_5_to_1(live_server, world, crowd, browser):
    """Computed in Chromium from the real stylesheet: white initials on every avatar hue, and the
    pager's greyed-out "Previous"/"Next" on the first and last page."""
    tab = browser.new_page(base_url=live_server.url)
    problems: list[str] = []
    hues: set[str] = set()
    for url in ("/people/", "/people/?page=2"):
        for width in (PHONE, 1280):
            tab.set_viewport_size({"width": width, "height": 900})
            tab.goto(url)
            found, low = low_contrast(tab, ".avatar .initials")
            assert found >= 10, (url, found)
            problems += [f"{url} at {width}px: {p}" for p in low]
            found, low = low_contrast(tab, ".pager-link.disabled")
            assert found == 1, (url, found)  # "← Previous" on page 1, "Next →" on page 2
            problems += [f"{url} at {width}px: {p}" for p in low]
            hues |= set(tab.evaluate(
                "[...document.querySelectorAll('.avatar')]"
                ".flatMap(a => [...a.classList].filter(c => c.startsWith('hue-')))"
            ))
    assert len(hues) == 8, hues
    # The large avatar on a person's page, too.
    tab.goto("/people/crowd-0/")
    found, low = low_contrast(tab, ".avatar.large .initials")
    assert found == 1 and low == [], low
    assert problems == [], "\n".join(problems)


def test_the_emails_initials_keep_4_5_to_1(browser):
    """The digest's avatars, with its <style> block applied as a mail client that keeps it would."""
    from digest.nightly.render import Renderer
    from tests.digest.nightly import sample_digests

    html = Renderer(base_url=sample_digests.BASE).render(sample_digests.rich_digest()).html
    tab = browser.new_page()
    tab.set_content(html)
    found, low = low_contrast(tab, ".avatar")
    assert found >= 5 and low == [], low
    found, low = low_contrast(tab, "a[href*='/people/']")
    assert found >= 5 and low == [], low
