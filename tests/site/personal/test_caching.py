"""Fragments cached in the shared Redis cache under the cache_version of what they show;
renames cascade to the rows that show them, one UPDATE per kind."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connections
from django.test.utils import CaptureQueriesContext

from digest.coverage.store import coverage_add, coverage_fetch
from digest.http import HttpClient, HttpConfig
from digest.stores.keys import RedisKeys
from lanyard_site import stores
from lanyard_site.events.models import Coverage, Event, Session, Topic
from lanyard_site.events.selectors.coverage import TOPIC_SHOWN
from lanyard_site.events.services.coverage import coverage_refetch

from .conftest import go, make_event, make_person, sign_in

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_named_caches():
    assert settings.CACHES["template_fragments"]["BACKEND"].endswith("LanyardRedisCache")
    assert settings.CACHES["default"]["BACKEND"].endswith("LocMemCache")
    fragments = caches["template_fragments"]
    fragments.set("probe", "x")
    prefix = RedisKeys(settings.LANYARD.redis.prefix).site_cache_prefix
    assert [k.decode() for k in stores.redis().keys(prefix + "*")] == [f"{prefix}:1:probe"]
    assert caches["default"].get("probe") is None  # the per-process cache is another one


def test_clearing_the_fragment_cache_leaves_the_rest_of_redis_alone():
    fragments, redis = caches["template_fragments"], stores.redis()
    fragments.set_many({f"probe-{n}": n for n in range(2_500)})
    redis.set("lanyard-not-a-fragment", "kept")
    assert fragments.clear() is True
    prefix = RedisKeys(settings.LANYARD.redis.prefix).site_cache_prefix
    assert redis.keys(prefix + "*") == [] and redis.get("lanyard-not-a-fragment") == b"kept"


def test_a_topic_rename_shows_at_once_on_a_cached_event_page(client, alias):
    conf = make_event("conf", 5)
    python = Topic.objects.create(name="Python", slug="python")
    conf.topics.add(python)
    assert "Python" in page(client, "/events/conf/")
    prefix = RedisKeys(settings.LANYARD.redis.prefix).site_cache_prefix
    assert stores.redis().keys(prefix + "*")  # the fragment is in the shared Redis cache

    with CaptureQueriesContext(connections[alias]) as captured:
        python.name = "Snakes"
        python.save()
    updates = [q["sql"] for q in captured.captured_queries if q["sql"].lstrip().upper().startswith("UPDATE")]
    assert len(updates) == 2  # the topic itself, and every one of its events in one statement
    assert 'UPDATE "event"' in updates[1] and "cache_version" in updates[1]
    html = page(client, "/events/conf/")
    assert "Snakes" in html and ">Python<" not in html


def test_a_person_rename_touches_what_lists_them(client, alias):
    ada = make_person("ada")
    conf, other = make_event("conf", 5), make_event("other", 6)
    go(ada, conf, "speaking")
    talk = Session.objects.create(event=conf, title="Parsing")
    talk.speakers.add(ada)
    before = {e.pk: e.cache_version for e in Event.objects.all()}
    talk_before = Session.objects.get(pk=talk.pk).cache_version
    with CaptureQueriesContext(connections[alias]) as captured:
        ada.name = "Ada Lovelace"
        ada.save()
    updates = [q["sql"] for q in captured.captured_queries if q["sql"].lstrip().upper().startswith("UPDATE")]
    assert len(updates) == 3  # the person, their events, their talks
    assert Event.objects.get(pk=conf.pk).cache_version == before[conf.pk] + 1
    assert Event.objects.get(pk=other.pk).cache_version == before[other.pk]  # not theirs: untouched
    assert Session.objects.get(pk=talk.pk).cache_version == talk_before + 1
    # A save that changes nothing shown elsewhere touches nothing else.
    with CaptureQueriesContext(connections[alias]) as captured:
        ada.bio = "Notes on the engine."
        ada.save()
    assert sum(q["sql"].lstrip().upper().startswith("UPDATE") for q in captured.captured_queries) == 1


def test_event_rows_are_kept_per_process_and_an_edit_shows_at_once(client, alias):
    conf = make_event("conf", 5)
    python = Topic.objects.create(name="Python", slug="python")
    conf.topics.add(python)
    assert ">Conf</a>" in page(client, "/events/")
    rows = caches["rows"]
    assert any(key for key in rows._cache if "event_row" in key)  # the row is kept
    conf.name = "Confluence"
    conf.save()
    python.name = "Snakes"
    python.save()
    row = page(client, "/events/").split('<ul class="event-list">')[1].split("</ul>")[0]
    assert ">Confluence</a>" in row and ">Snakes</a>" in row and "Python" not in row


def test_a_topic_page_lists_its_newest_coverage_and_links_to_all(client, alias):
    conf = make_event("conf", 5)
    python = Topic.objects.create(name="Python", slug="python")
    conf.topics.add(python)
    for n in range(TOPIC_SHOWN + 3):
        Coverage.objects.create(event=conf, title=f"Slides number {n:02d}", url=f"https://example.org/{n}")
    html = page(client, "/topics/python/")
    shown = [n for n in range(TOPIC_SHOWN + 3) if f"Slides number {n:02d}" in html]
    assert shown == list(range(3, TOPIC_SHOWN + 3))  # the newest ten
    assert "/coverage/?topic=python" in html


def test_topics_added_and_removed_touch_the_event(alias):
    conf = make_event("conf", 5)
    python = Topic.objects.create(name="Python", slug="python")
    version = Event.objects.get(pk=conf.pk).cache_version
    conf.topics.add(python)
    assert Event.objects.get(pk=conf.pk).cache_version == version + 1
    python.events.clear()
    assert Event.objects.get(pk=conf.pk).cache_version == version + 2


def test_an_event_page_keeps_its_coverage_for_visitors_and_every_coverage_write_shows_at_once(client, alias):
    conf = make_event("conf", -5)
    talk = Session.objects.create(event=conf, title="Parsing")
    engine = stores.engine(alias)
    refusing = HttpClient(HttpConfig(deadline=2.0))  # no network allowed: a private address is refused
    html, reads = _coverage_reads(client, alias, "/events/conf/")
    assert reads  # a miss
    assert _coverage_reads(client, alias, "/events/conf/")[1] == []  # kept: the coverage is not read again

    def fetched(url):
        coverage_id = Coverage.objects.get(url=url).pk
        coverage_fetch(engine, refusing, coverage_id=coverage_id, last_attempt=True)

    def retitled_and_refetched(title, new):
        rows = Coverage.objects.filter(title=title)
        rows.update(title=new)  # bypasses the signals (a bulk write): the admin's refetch touches the event
        coverage_refetch(coverage_ids=[Coverage.objects.get(title=new).pk])

    steps = [
        # the site's writes (signals), then the link fetcher's (SQLAlchemy, digest/coverage/store.py)
        (lambda: Coverage.objects.create(event=conf, url="https://slides.example/a", title="Deck A",
                                         status="ok"), "Deck A", True),
        (lambda: Coverage.objects.create(session=talk, url="https://video.example/b", title="Video B",
                                         status="ok"), "Video B", True),
        (lambda: Coverage.objects.filter(title="Deck A").get().delete(), "Deck A", False),
        (lambda: coverage_add(engine, url="http://10.0.0.7/deck", session_id=talk.pk), "10.0.0.7/deck", True),
        (lambda: fetched("http://10.0.0.7/deck"), "10.0.0.7/deck", False),  # refused: its author's alone
        (lambda: retitled_and_refetched("Video B", "Video B, edited"), "Video B, edited", True),
    ]
    try:
        for change, shown, present in steps:
            change()
            assert (shown in page(client, "/events/conf/")) is present, shown
            assert _coverage_reads(client, alias, "/events/conf/")[1] == []  # kept again after the miss
    finally:
        refusing.close()


def test_a_person_page_keeps_the_coverage_of_their_talks_for_visitors_and_every_write_shows_at_once(
    client, alias
):
    conf, ada = make_event("conf", -5), make_person("ada", name="Ada")
    talk = Session.objects.create(event=conf, title="Parsing")
    talk.speakers.add(ada)
    engine = stores.engine(alias)
    refusing = HttpClient(HttpConfig(deadline=2.0))
    assert _coverage_reads(client, alias, "/people/ada/")[1]  # a miss
    assert _coverage_reads(client, alias, "/people/ada/")[1] == []  # kept

    def fetched(url):
        coverage_fetch(engine, refusing, coverage_id=Coverage.objects.get(url=url).pk, last_attempt=True)

    steps = [
        (lambda: Coverage.objects.create(session=talk, url="https://video.example/b", title="Video B",
                                         status="ok"), "Video B", True),
        (lambda: coverage_add(engine, url="http://10.0.0.7/deck", session_id=talk.pk), "10.0.0.7/deck", True),
        (lambda: fetched("http://10.0.0.7/deck"), "10.0.0.7/deck", False),
        (lambda: Coverage.objects.get(title="Video B").delete(), "Video B", False),
    ]
    try:
        for change, shown, present in steps:
            change()
            assert (shown in page(client, "/people/ada/")) is present, shown
            assert _coverage_reads(client, alias, "/people/ada/")[1] == []
    finally:
        refusing.close()


def _coverage_reads(client, alias, url) -> tuple[str, list[str]]:
    with CaptureQueriesContext(connections[alias]) as captured:
        html = page(client, url)
    return html, [q["sql"] for q in captured.captured_queries if '"coverage"' in q["sql"]]


def _session_reads(client, alias, url) -> tuple[str, list[str]]:
    """The page, and its queries that read the talks or the attendances (the coverage list,
    read live, names talks in a subquery, and a member's own part at the event, read live,
    starts with one: not one of them)."""
    with CaptureQueriesContext(connections[alias]) as captured:
        html = page(client, url)
    reads = [q["sql"] for q in captured.captured_queries
             if q["sql"].lstrip().startswith('SELECT "') and not q["sql"].lstrip().startswith('SELECT "coverage"')
             and ('"session"' in q["sql"] or '"attendance"' in q["sql"])]
    return html, reads


@pytest.mark.parametrize("viewer", ["visitor", "member"])
def test_an_event_page_keeps_its_schedule_and_people_and_every_change_shows_at_once(client, alias, viewer):
    """A visitor's page is one fragment; a member's keeps the head, the schedule and the
    people lists (their part and the coverage are read live): both show every change at once."""
    conf = make_event("conf", 5)
    ada, bob = make_person("ada", name="Ada"), make_person("bob", name="Bob")
    if viewer == "member":
        sign_in(client, make_person("cy", name="Cy"))
    go(ada, conf)
    talk = Session.objects.create(event=conf, title="Parsing")
    html, reads = _session_reads(client, alias, "/events/conf/")
    assert "Parsing" in html and ">Ada<" in html and reads  # a miss: read from the database
    html, reads = _session_reads(client, alias, "/events/conf/")
    assert "Parsing" in html and ">Ada<" in html and reads == []  # kept: neither is read again

    steps = [
        (lambda: Session.objects.create(event=conf, title="Lexing"), "Lexing", True),
        (lambda: talk.speakers.add(bob), ">Bob</a>", True),  # the schedule names its speakers
        (lambda: setattr(talk, "room", "Hall B") or talk.save(), "Hall B", True),
        (lambda: go(bob, conf), 'Attendees <span class="count">2</span>', True),
        (lambda: ada.attendances.get(event=conf).delete(), ">Ada<", False),
        (lambda: Session.objects.filter(title="Lexing").get().delete(), "Lexing", False),
        (lambda: talk.speakers.clear(), ">Bob</a>", False),
    ]
    for change, shown, present in steps:
        change()
        assert (shown in page(client, "/events/conf/")) is present, shown
        assert _session_reads(client, alias, "/events/conf/")[1] == []  # kept again after the miss


@pytest.mark.parametrize("viewer", ["visitor", "member"])
def test_a_person_page_keeps_their_talks_and_events_and_every_change_shows_at_once(client, alias, viewer):
    """A visitor's page is one fragment; a member's keeps the talks and the past events
    (their upcoming events and the coverage are read live): both show every change at once."""
    old, older = make_event("oldconf", -30), make_event("olderconf", -60)
    ada, bob = make_person("ada", name="Ada"), make_person("bob", name="Bob")
    if viewer == "member":
        sign_in(client, make_person("cy", name="Cy"))
    go(ada, old, role="speaking")
    talk = Session.objects.create(event=old, title="Parsing")
    talk.speakers.add(ada)
    html, reads = _person_reads(client, alias, "/people/ada/", viewer)
    assert "Parsing" in html and "Oldconf" in html and reads  # a miss: read from the database
    html, reads = _person_reads(client, alias, "/people/ada/", viewer)
    assert "Parsing" in html and "Oldconf" in html and reads == []  # kept: neither is read again

    def rename(row, name):
        row.name = name
        row.save()

    def move_to_the_past(event):
        event.start_date = event.end_date = old.start_date
        event.save()

    def speak_at(slug):
        attendance = ada.attendances.get(event__slug=slug)
        attendance.role = "speaking"
        attendance.save()

    soon = make_event("soonconf", 5)
    go(ada, soon)
    steps = [
        (lambda: go(ada, make_event("nextconf", 9)), "Nextconf", True),  # upcoming, kept for visitors too
        (lambda: rename(soon, "Soonconf Renamed"), "Soonconf Renamed", True),
        (lambda: speak_at("nextconf"), "· speaking</p>", True),  # its role
        (lambda: Session.objects.create(event=older, title="Lexing").speakers.add(ada), "Lexing", True),
        (lambda: setattr(talk, "title", "Parsing again") or talk.save(), "Parsing again", True),
        (lambda: rename(old, "Oldconf Renamed"), "Oldconf Renamed", True),  # the history and "at …" of the talk
        (lambda: go(ada, older), "<h3>Attended</h3>", True),
        (lambda: ada.attendances.get(event=older).delete(), "<h3>Attended</h3>", False),
        (lambda: move_to_the_past(soon), "<h3>Attended</h3>", True),  # its end date: from upcoming to history
        (lambda: Session.objects.get(title="Lexing").delete(), "Lexing", False),
        (lambda: talk.speakers.clear(), "Parsing again", False),
        (lambda: bob.sessions.add(talk) or ada.sessions.add(talk), "Parsing again", True),  # the reverse side
        (lambda: rename(bob, "Robert"), "Parsing again", True),  # a change elsewhere: still kept, still right
    ]
    for change, shown, present in steps:
        change()
        assert (shown in page(client, "/people/ada/")) is present, shown
        assert _person_reads(client, alias, "/people/ada/", viewer)[1] == []  # kept again after the miss


def _person_reads(client, alias, url, viewer="visitor") -> tuple[str, list[str]]:
    """The page, and its queries that read talks or attendances (the coverage list names
    talks in a subquery: not one of them); for a member, past attendances only (their
    upcoming ones are read live)."""
    with CaptureQueriesContext(connections[alias]) as captured:
        html = page(client, url)
    reads = [q["sql"] for q in captured.captured_queries
             if q["sql"].lstrip().startswith('SELECT "') and not q["sql"].lstrip().startswith('SELECT "coverage"')
             and ('"session"' in q["sql"] or ('"attendance"' in q["sql"]
                                              and (viewer == "visitor" or '"end_date" <' in q["sql"])))]
    return html, reads
