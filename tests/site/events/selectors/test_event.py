"""An event's page and its directories (events/selectors/event.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from lanyard_site.events.models import Coverage, Person, Session
from tests.site.pages import alias, data, days, event, go, person, text  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])



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


def test_an_events_people_lists_are_read_once_per_version(alias, data):
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    from lanyard_site.events.models import Event
    from lanyard_site.events.selectors.event import event_people

    pycon = Event.objects.get(slug="pycon")
    first = event_people(pycon)
    with CaptureQueriesContext(connections[alias]) as queries:
        assert event_people(pycon) == first  # kept: signed-in visitors see them rendered for them, not read
    assert len(queries) == 0
    cleo = person("cleo")
    go(cleo, pycon)  # touches the event
    ada = Person.objects.get(handle="ada")
    ada.name = "Ada Lovelace"
    ada.save()  # a name shown in the lists: touches her events
    pycon.refresh_from_db()
    now = event_people(pycon)
    assert cleo in now["attendees"].people and now["attendees"].count == first["attendees"].count + 1
    assert [p.name for p in now["speakers"].people] == ["Ada Lovelace"]
