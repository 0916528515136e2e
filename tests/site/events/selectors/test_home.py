"""The home page (events/selectors/home.py): on today, soon, the biggest upcoming."""

from __future__ import annotations

import pytest

from tests.site.pages import alias, data, days, event, go, person, text  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])



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
