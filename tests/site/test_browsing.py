"""The browsing pages, each on SQLite and PostgreSQL: what they show, their links, their
query counts, and what bad input gets (a page in the site's layout, never a 500)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.cache import cache
from django.db import connections
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from digest.search.documents import stream_documents
from lanyard_site import stores
from lanyard_site.events.models import Coverage, Event, Person, Session, Topic
from tests.site.test_pages import alias, data, days, event, go, person, text  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])
MAX_QUERIES = 12


@pytest.fixture
def indexed(alias):
    """Rebuild the search index from this test's database (call after writing the data)."""

    def build():
        with stores.engine(alias).connect() as c:
            stores.search().rebuild(stream_documents(c))

    return build


def queries(client, url, alias):
    """(response, number of SQL queries) of one request."""
    with CaptureQueriesContext(connections[alias]) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return response, len(captured)


# -- home and browsing -----------------------------------------------------------------


def test_home_today_soon_and_biggest(client, data):
    today = event("today-conf", 0, city="Oslo")
    big = event("big-conf", 50)  # past 30 days, but the biggest
    for n in range(3):
        go(person(f"fan{n}"), big)
    page = text(client.get("/"))
    on_today, rest = page.split("The next 30 days")
    soon, biggest = rest.split("Biggest upcoming")
    assert "/events/today-conf/" in on_today
    assert "/events/pycon/" in soon and "/events/later/" not in soon and "/events/past/" not in soon
    assert biggest.index("/events/big-conf/") < biggest.index("/events/pycon/") and "3 going" in biggest
    assert 'action="/search/"' in page and "Python" in page  # the search box; topics on rows
    assert today.slug in page


def test_events_browse_filters(client, data):
    event("berlin-conf", 12, city="Berlin", country="Germany")
    page = text(client.get("/events/"))
    assert "/events/pycon/" in page and "/events/berlin-conf/" in page and "/events/past/" not in page
    past = text(client.get("/events/?when=past"))
    assert "/events/past/" in past and "/events/pycon/" not in past
    python = text(client.get("/events/?topic=python"))
    assert "/events/pycon/" in python and "/events/berlin-conf/" not in python
    assert "/events/pycon/" not in text(client.get("/events/?city=Berlin"))
    assert "/events/berlin-conf/" in text(client.get("/events/?country=Germany"))
    month = data["later"].start_date.strftime("%Y-%m")
    in_month = text(client.get(f"/events/?month={month}"))
    assert "/events/later/" in in_month and "/events/pycon/" not in in_month  # 50 days apart: never one month


@pytest.mark.parametrize(
    "query, ignored",
    [
        ("topic=cobol", "topic: cobol"),
        ("city=Atlantis", "city: Atlantis"),
        ("when=someday", "when: someday"),
        ("month=2027-13", "month: 2027-13"),
        ("month=banana", "month: banana"),
        ("country=Narnia", None),
    ],
)
def test_unknown_filter_values_are_shown_as_not_applied(client, data, query, ignored):
    page = text(client.get(f"/events/?{query}"))
    assert "/events/pycon/" in page  # the other filters (none) still apply: upcoming events
    if ignored:
        assert "Not applied" in page and ignored in page


@pytest.mark.parametrize("raw", ["0", "-1", "999999", "abc", "1e9", "2.5", "%01", "٢", " 2 ", "99999999999999999999"])
def test_page_numbers_of_any_spelling_are_clamped(client, alias, raw):
    for n in range(30):
        event(f"e{n:02d}", 1 + n)
    page = text(client.get(f"/events/?page={raw}"))
    shown = re.findall(r'class="event-name" href="/events/(e\d\d)/"', page)
    assert len(shown) in (25, 5)  # page 1 or the last page, never an error or an empty page


# -- an event ---------------------------------------------------------------------------


def test_event_page(client, data):
    pycon = data["pycon"]
    pycon.cfp_deadline = days(5)
    pycon.timezone = "Asia/Tokyo"  # UTC+9 all year
    pycon.save()
    first = Session.objects.get(title="Fast parsers")
    first.starts_at = dt.datetime.combine(pycon.start_date, dt.time(8, 30), tzinfo=dt.UTC)
    first.room = "Salle 1"
    first.save()
    second = Session.objects.create(event=pycon, title="Unscheduled idea")
    Coverage.objects.create(session=second, kind="notes", title="Idea notes", url="https://notes.example/")
    page = text(client.get("/events/pycon/"))
    for shown in [
        "Pycon",
        pycon.start_date.strftime("%A"),
        "Centre",
        'href="/events/?city=Lyon"',
        "France",
        "/topics/python/",
        "Talks about Python.",
        'href="https://pycon.example/"',
        "Call for speakers open until",
        days(5).strftime("%A"),
        "17:30",
        "Salle 1",
        "Fast parsers",
        "Time to be announced",
        "Unscheduled idea",
        "/speakers/",
        "/attendees/",
        "/people/ada/",
        "/people/bob/",
        "Pycon videos",
        "Parser slides",
        "Idea notes",  # coverage of the event and of its talks
    ]:
        assert shown in page, shown
    assert page.index("Fast parsers") < page.index("Unscheduled idea")


def test_a_closed_call_for_speakers(client, data):
    data["pycon"].cfp_deadline = days(-1)
    data["pycon"].save()
    page = text(client.get("/events/pycon/"))
    assert "call for speakers closed" in page and "open until" not in page


def test_directories_page_and_search_by_name(client, alias, indexed):
    conf = event("conf", 5)
    names = [f"Person {n:03d}" for n in range(60)] + ["Zoë Ünal", "Дмитрий Иванов"]
    for n, name in enumerate(names):
        go(Person.objects.create(name=name), conf, "speaking" if n == 0 else "attending")
    outsider = Person.objects.create(name="Zoë Elsewhere")
    indexed()
    first = text(client.get("/events/conf/attendees/"))
    assert first.count('class="person-chip"') == 50 and "61 people" in first and "Page 1 of 2" in first
    second = text(client.get("/events/conf/attendees/?page=2"))
    assert second.count('class="person-chip"') == 11
    speakers = text(client.get("/events/conf/speakers/"))
    assert "Person 000" in speakers and speakers.count('class="person-chip"') == 1
    found = text(client.get("/events/conf/attendees/?q=zoe"))
    assert "Zoë Ünal" in found and outsider.name not in found and "1 match" in found
    assert "Дмитрий" in text(client.get("/events/conf/attendees/?q=Дмитрий"))
    assert "Nobody by that name" in text(client.get("/events/conf/attendees/?q=%22%3A%28AND*-"))


# -- talks, people, topics, coverage -------------------------------------------------------


def test_talk_page_embeds_allowed_videos_only(client, data):
    talk = data["talk"]
    Coverage.objects.create(
        session=talk,
        kind="video",
        title="The recording",
        url="https://youtu.be/dQw4w9WgXcQ",
        provider="youtube",
        embed_id="dQw4w9WgXcQ",
    )
    Coverage.objects.create(
        session=talk,
        kind="video",
        title="Elsewhere",
        url="https://videos.example/v/1",
        provider="videos-example",
        embed_id="1",
    )
    Coverage.objects.create(
        session=talk,
        kind="video",
        title="Forged id",
        url="https://youtu.be/x",
        provider="youtube",
        embed_id='"><script>alert(1)</script>',
    )
    response = client.get(f"/talks/{talk.pk}/")
    page = text(response)
    for shown in [
        "Fast parsers",
        "How to parse fast.",
        "/events/pycon/",
        "/people/ada/",
        "Parser slides",
        "The recording",
    ]:
        assert shown in page, shown
    frames = re.findall(r'<iframe src="([^"]+)"', page)
    assert frames == ["https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"]
    assert "<script>alert" not in page and "style=" not in page
    assert "frame-src https://www.youtube-nocookie.com https://player.vimeo.com" in response["Content-Security-Policy"]


def test_stored_javascript_urls_are_never_links(client, data):
    # Writes that bypass validation, as a bulk load or an old row would.
    Event.objects.filter(pk=data["pycon"].pk).update(url="javascript:alert(1)")
    Coverage.objects.filter(title="Parser slides").update(url="JaVaScRiPt:alert(2)")
    Coverage.objects.filter(title="Pycon videos").update(url="data:text/html,<script>alert(3)</script>")
    Person.objects.filter(pk=data["ada"].pk).update(avatar_url="javascript:alert(4)")
    data["pycon"].touch()
    for url in ["/events/pycon/", f"/talks/{data['talk'].pk}/", "/people/ada/", "/coverage/"]:
        page = text(client.get(url)).lower()
        assert "javascript:" not in page and "data:text" not in page, url
    assert "link withheld" in text(client.get("/coverage/"))


def test_the_models_refuse_non_web_urls(data):
    from django.core.exceptions import ValidationError

    bad = Coverage(session=data["talk"], kind="video", title="x", url="javascript:alert(1)")
    with pytest.raises(ValidationError):
        bad.full_clean()
    data["pycon"].url = "ftp://files.example/"
    with pytest.raises(ValidationError):
        data["pycon"].full_clean()


def test_person_page(client, data, indexed):
    carol = person("carol")
    for n in range(3):
        shared = event(f"shared{n}", -100 + n)
        go(data["ada"], shared, "speaking")
        go(carol, shared, "speaking")
    indexed()
    page = text(client.get("/people/ada/"))
    assert "Writes compilers." in page and "Fast parsers" in page and "Parser slides" in page
    upcoming, rest = page.split("<h2>Talks</h2>")
    assert "/events/pycon/" in upcoming and "speaking" in upcoming and "/events/past/" not in upcoming
    history, side = rest.split("Appears most often with")
    assert "/events/shared0/" in history and "/events/past/" in history.split("Attended")[1]
    assert "/people/carol/" in side and "3 shared" in side
    assert 'class="initials">A<' in page  # the fallback avatar needs no image


def test_people_directory_lists_speakers_and_searches_everyone(client, data, indexed):
    indexed()
    page = text(client.get("/people/"))
    assert "/people/ada/" in page and "/people/bob/" not in page
    assert "/people/bob/" in text(client.get("/people/?q=bob"))


def test_topics_and_a_topic_page(client, data):
    Topic.objects.create(name="Rust")
    data["past"].topics.add(data["python"])
    data["later"].topics.add(data["python"])
    Event.objects.filter(pk=data["later"].pk).update(cfp_deadline=days(20))
    page = text(client.get("/topics/"))
    assert "/topics/python/" in page and "/topics/rust/" in page and "2 upcoming" in page
    topic = text(client.get("/topics/python/"))
    upcoming, rest = topic.split("<h2>Recent</h2>")
    recent, side = rest.split("<h2>Calls for speakers</h2>")
    assert "/events/pycon/" in upcoming and "/events/later/" in upcoming and "/events/past/" not in upcoming
    assert "/events/past/" in recent
    calls, slides = side.split("<h2>Slides and videos</h2>")
    assert "/events/later/" in calls and "/events/pycon/" not in calls
    assert "Parser slides" in slides and "Pycon videos" in slides


def test_coverage_filters(client, data):
    page = text(client.get("/coverage/"))
    assert "Parser slides" in page and "Pycon videos" in page
    assert "Pycon videos" not in text(client.get("/coverage/?kind=slides"))
    by_ada = text(client.get("/coverage/?person=ada"))
    assert "Parser slides" in by_ada and "Pycon videos" not in by_ada
    assert "Parser slides" in text(client.get("/coverage/?topic=python&event=pycon"))
    assert "Parser slides" not in text(client.get("/coverage/?event=past"))
    unknown = text(client.get("/coverage/?kind=podcast&person=nobody&event=%01&topic=x"))
    assert "Not applied" in unknown and "kind: podcast" in unknown and "person: nobody" in unknown
    assert "Parser slides" in unknown


# -- search -----------------------------------------------------------------------------


@pytest.fixture
def searchable(data, indexed):
    for n in range(25):
        event(f"python-meetup-{n:02d}", 3 + n, city="Berlin" if n % 2 else "Lyon", description="Snakes and Python.")
    indexed()
    return data


def test_search_results_facets_snippets_and_pages(client, searchable):
    page = text(client.get("/search/?q=python"))
    assert "<mark>Python</mark>" in page
    assert re.search(r'href="\?q=python&amp;type=event">Events <span class="count">26</span>', page)
    assert re.search(r'href="\?q=python&amp;city=Berlin">Berlin <span class="count">12</span>', page)
    assert 'rel="next" href="?q=python&amp;page=2"' in page
    berlin = text(client.get("/search/?q=python&city=Berlin"))
    assert (
        "12 results" in berlin and "/events/python-meetup-01/" in berlin and "/events/python-meetup-00/" not in berlin
    )
    assert 'class="facet-on"' in berlin
    people = text(client.get("/search/?q=compilers&type=person"))
    assert "/people/ada/" in people and "<mark>compilers</mark>" in people
    talks = text(client.get("/search/?q=parsers"))
    assert f"/talks/{searchable['talk'].pk}/" in talks and "<mark>Parser</mark> slides" in talks


def test_search_empty_state_and_nothing_found(client, searchable):
    assert "Type a few words" in text(client.get("/search/"))
    assert "Nothing found" in text(client.get("/search/?q=zzzzqqq"))


def test_a_nul_byte_in_a_query_is_a_400_naming_the_parameter(client, alias):
    """Every parameter and field of every page is covered by tests/site/test_bad_input.py."""
    response = client.get("/search/?q=py%00thon")
    assert response.status_code == 400 and "'q' contains a NUL byte" in response.content.decode()


@pytest.mark.parametrize(
    "raw",
    [
        '"',
        ":",
        "(",
        "AND",
        "*",
        "-",
        "python AND (",
        'title:"x',
        "a" * 10_000,
        "py%01thon",
        "%FF%FE%FA",
        "%C3%28",
        "python" + "%20OR" * 500,
        "<script>alert(1)</script>",
        "\\",
        "%0D%0ALocation:x",
        "NOT -",
        "[1 TO *]",
    ],
)
def test_nasty_queries_get_results_or_a_message(client, searchable, raw):
    response = client.get(f"/search/?q={raw}&page={raw}&type={raw}&topic={raw}&city={raw}&when={raw}")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<script>alert(1)</script>" not in page
    if len(raw) > 200:
        assert "only its first 200 characters" in page


def test_unknown_facet_values_are_ignored_and_said_so(client, searchable):
    page = text(client.get("/search/?q=python&topic=Cobol&city=Atlantis&type=spaceship&when=tomorrow"))
    assert "26 results" in page or "results" in page
    for value in ["topic: Cobol", "city: Atlantis", "type: spaceship", "when: tomorrow"]:
        assert value in page
    assert 'class="facet-on"' not in page


def test_search_deep_pages_are_clamped(client, searchable):
    page = text(client.get("/search/?q=python&page=9999"))
    assert "Page 2 of 2" in page


# -- every page: layout, CSP, errors, query counts ---------------------------------------


def test_404_is_in_the_sites_layout(client, data):
    for url in [
        "/events/nope/",
        "/talks/999999/",
        "/people/nobody/",
        "/topics/nothing/",
        "/no/such/page/",
        "/events/nope/attendees/",
        "/talks/99999999999999999999999/",
    ]:
        response = client.get(url)
        assert response.status_code == 404, url
        page = response.content.decode()
        assert "There is no page here" in page and "site.css" in page, url


def test_500_is_in_the_sites_layout(client, data):
    client.raise_request_exception = False
    with override_settings(ROOT_URLCONF="tests.site.error_urls"):
        response = client.get("/boom/")
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode() and "site.css" in response.content.decode()


def test_robots_and_favicon(client, alias):
    robots = client.get("/robots.txt")
    assert robots.status_code == 200 and "Disallow: /admin/" in robots.content.decode()
    icon = client.get("/favicon.ico")
    assert (
        icon.status_code == 200 and icon["Content-Type"] == "image/x-icon" and icon.content[:4] == b"\x00\x00\x01\x00"
    )


def test_every_page_sends_a_strict_csp(client, data):
    policy = client.get("/")["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    for url in ["/events/", "/events/pycon/", "/search/?q=x", "/nope/"]:
        assert client.get(url)["Content-Security-Policy"] == policy, url


def _bulk_catalogue(n: int) -> None:
    """n events on one topic, each with n talks, speakers, attendees and coverage."""
    topic = Topic.objects.get_or_create(name="Python", slug="python")[0]
    people = [Person.objects.create(name=f"Bulk {n} {i}") for i in range(n)]
    for e in range(n):
        conf = event(f"bulk-{n}-{e}", 2 + e, city=f"City {e}", country="Chile")
        conf.topics.add(topic)
        for i, who in enumerate(people):
            go(who, conf, "speaking" if i % 2 else "attending")
            talk = Session.objects.create(event=conf, title=f"Talk {n} {e} {i}", starts_at=None)
            talk.speakers.add(who)
            Coverage.objects.create(session=talk, kind="slides", title=f"Slides {i}", url="https://s.example/")
            Coverage.objects.create(event=conf, kind="writeup", title=f"Writeup {i}", url="https://w.example/")


PAGES = [
    "/",
    "/events/",
    "/events/?topic=python&city=City+0",
    "/events/{event}/",
    "/events/{event}/attendees/",
    "/events/{event}/speakers/",
    "/talks/{talk}/",
    "/people/{person}/",
    "/people/",
    "/topics/",
    "/topics/python/",
    "/coverage/",
    "/coverage/?topic=python&person={person}",
    "/search/?q=bulk",
]


def _page_queries(client, alias, n, indexed):
    _bulk_catalogue(n)
    indexed()
    conf = Event.objects.get(slug=f"bulk-{n}-0")
    values = {
        "event": conf.slug,
        "talk": conf.sessions.first().pk,
        "person": Person.objects.filter(name=f"Bulk {n} 1").get().handle,
    }
    counts = {}
    for url in PAGES:
        cache.clear()  # every page measured cold: its cached lists are read too
        counts[url] = queries(client, url.format(**values), alias)[1]
    return counts


def test_query_counts_are_bounded_and_do_not_grow_with_rows(client, alias, indexed):
    few = _page_queries(client, alias, 4, indexed)
    many = _page_queries(client, alias, 8, indexed)
    for url in PAGES:
        assert many[url] <= MAX_QUERIES, (url, many[url])
        assert many[url] == few[url], (url, few[url], many[url])
