"""/search/ (events/selectors/search.py): results, facets, snippets, pages, and what bad queries get."""

from __future__ import annotations

import re

import pytest

from tests.site.pages import alias, data, days, event, go, person, text  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])



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
    """Every parameter and field of every page is covered by tests/site/ops/test_bad_input.py."""
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
