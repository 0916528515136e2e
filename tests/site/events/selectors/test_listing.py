"""/events/ (events/selectors/listing.py): its filters, and the values that name nothing."""

from __future__ import annotations

import pytest

from tests.site.pages import alias, data, days, event, go, person, text  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])



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
