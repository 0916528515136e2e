"""A person's page and /people/ (events/selectors/people.py)."""

from __future__ import annotations

import pytest

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
