"""Slugs on the site: made by digest.slugs, re-made by the data migration, old ones 301."""

import datetime as dt
import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connections

from lanyard_site.events.models import Event, Person, SlugHistory, Topic
from tests.site.test_pages import alias  # noqa: F401  (the fixture: each test on SQLite and PostgreSQL)

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])
reslug = importlib.import_module("lanyard_site.events.migrations.0003_reslug").reslug
DAY = dt.date(2027, 3, 1)


def make_event(name, slug=""):
    return Event.objects.create(name=name, slug=slug, start_date=DAY, end_date=DAY)


def test_a_blank_slug_is_made_from_the_name_and_the_id(alias):
    event = make_event("PostgreSQL Forum São Paulo 2027")
    assert event.slug == f"postgresql-forum-sao-paulo-2027-{event.pk}"
    assert Event.objects.get(pk=event.pk).slug == event.slug
    person = Person.objects.create(name="Дмитрий Иванов")
    assert person.handle == f"dmitriy-ivanov-{person.pk}"
    assert Topic.objects.create(name="C++").slug == "c-plus-plus"


def test_a_hand_written_slug_is_brought_into_slug_form(alias):
    assert make_event("x", slug="São_Paulo Conf").slug == "sao-paulo-conf"


def test_changing_a_slug_keeps_the_old_one_and_answers_301(alias, client):
    event = make_event("Conf", slug="old-conf")
    event.slug = "new-conf"
    event.save()
    assert SlugHistory.objects.filter(kind="event", slug="old-conf", target_id=event.pk).exists()
    response = client.get("/events/old-conf/?x=1")
    assert response.status_code == 301 and response["Location"] == "/events/new-conf/?x=1"
    assert client.get("/events/new-conf/").status_code == 200
    # Taking the old slug back removes it from the history: it is current again.
    event.slug = "old-conf"
    event.save()
    assert not SlugHistory.objects.filter(kind="event", slug="old-conf").exists()
    assert client.get("/events/new-conf/")["Location"] == "/events/old-conf/"


def test_the_migration_reslugs_and_old_email_links_redirect(alias, client):
    # Rows as the old seed wrote them, straight into the table (no save() to fix them).
    Event.objects.bulk_create(
        [
            Event(
                name="PostgreSQL Forum São Paulo 2027",
                slug="postgresql-forum-são-paulo-2027-129",
                start_date=DAY,
                end_date=DAY,
            ),
            Event(name="Taken", slug="postgresql-forum-sao-paulo-2027-129", start_date=DAY, end_date=DAY),
            Event(name="Fine", slug="fine-1", start_date=DAY, end_date=DAY),
        ]
    )
    Person.objects.bulk_create([Person(name="Zoë", handle="Zoë_Ünal"), Person(name="ok", handle="ok")])
    Topic.objects.bulk_create([Topic(name="Bogotá", slug="bogotá")])

    reslug(apps, SimpleNamespace(connection=connections[alias]))

    accented = Event.objects.get(name="PostgreSQL Forum São Paulo 2027")
    assert accented.slug == f"postgresql-forum-sao-paulo-2027-129-{accented.pk}"  # the plain one was taken
    assert Event.objects.get(name="Fine").slug == "fine-1"
    assert Person.objects.get(name="Zoë").handle == "zoe-unal" and Person.objects.get(name="ok").handle == "ok"
    assert Topic.objects.get().slug == "bogota"
    assert SlugHistory.objects.count() == 3

    # The link an email carried, percent-encoded as a mail client sends it.
    response = client.get("/events/postgresql-forum-s%C3%A3o-paulo-2027-129/")
    assert response.status_code == 301 and response["Location"] == f"/events/{accented.slug}/"
    assert client.get("/people/Zo%C3%AB_%C3%9Cnal/")["Location"] == "/people/zoe-unal/"
    assert client.get("/topics/bogot%C3%A1/")["Location"] == "/topics/bogota/"
    assert client.get(response["Location"]).status_code == 200
    reslug(apps, SimpleNamespace(connection=connections[alias]))  # running it again changes nothing
    assert SlugHistory.objects.count() == 3


@pytest.mark.parametrize("path", [
    "/events/nothing-here/", "/events/N%C3%A3o/", "/events/a%00b/", "/people/%FF%FE/", "/topics/" + "x" * 300 + "/",
    "/events/UPPER/", "/people/no_one/",
])
def test_unknown_slugs_answer_404(alias, client, path):
    assert client.get(path).status_code == 404
