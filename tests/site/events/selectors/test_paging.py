"""Page numbers from URLs (events/selectors/paging.py)."""

from __future__ import annotations

import re

import pytest

from tests.site.pages import alias, data, days, event, go, person, text  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])



@pytest.mark.parametrize("raw", ["0", "-1", "999999", "abc", "1e9", "2.5", "%01", "٢", " 2 ", "99999999999999999999"])
def test_page_numbers_of_any_spelling_are_clamped(client, alias, raw):
    for n in range(30):
        event(f"e{n:02d}", 1 + n)
    page = text(client.get(f"/events/?page={raw}"))
    shown = re.findall(r'class="event-name" href="/events/(e\d\d)/"', page)
    assert len(shown) in (25, 5)  # page 1 or the last page, never an error or an empty page
