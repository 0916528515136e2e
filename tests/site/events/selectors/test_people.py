"""A person's page and /people/ (events/selectors/people.py)."""

from __future__ import annotations

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from lanyard_site.accounts.models import Account
from tests.site.pages import alias, data, days, event, go, person, text  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])



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


def test_a_persons_accounts_are_read_once_per_version_and_every_change_shows(client, alias):
    ada = person("ada")
    github = Account.objects.create(person=ada, provider="github", external_id="1", handle="ada-gh",
                                    profile_url="https://github.com/ada-gh")
    assert "ada-gh" in text(client.get("/people/ada/"))
    with CaptureQueriesContext(connections[alias]) as captured:
        assert "ada-gh" in text(client.get("/people/ada/"))
    assert not [q for q in captured.captured_queries if 'FROM "account"' in q["sql"]]  # kept

    github.handle, github.verified = "ada-renamed", True
    github.save()
    page = text(client.get("/people/ada/"))
    assert "ada-renamed" in page and "✓ verified" in page
    Account.objects.create(person=ada, provider="bluesky", external_id="did:plc:ada", handle="ada.example")
    assert "ada.example" in text(client.get("/people/ada/"))
    github.delete()
    page = text(client.get("/people/ada/"))
    assert "ada-renamed" not in page and "ada.example" in page
