"""Where an old or misspelt slug lives now (events/selectors/old_slugs.py): the 301s after
the reslug migration, and 404 for slugs that name nothing."""

import datetime as dt
import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connections

from lanyard_site.events.models import Event, Person, SlugHistory, Topic
from tests.site.pages import alias  # noqa: F401  (the fixture: each test on SQLite and PostgreSQL)

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])

DAY = dt.date(2027, 3, 1)


reslug = importlib.import_module("lanyard_site.events.migrations.0003_reslug").reslug


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
