"""/coverage/ and its filters (events/selectors/coverage.py)."""

from __future__ import annotations

import pytest

from tests.site.pages import alias, data, days, event, go, person, text  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])



def test_coverage_filters(client, data):
    page = text(client.get("/coverage/"))
    assert "Parser slides" in page and "Pycon videos" in page
    assert "Pycon videos" not in text(client.get("/coverage/?kind=slides"))
    by_ada = text(client.get("/coverage/?person=ada"))
    assert "Parser slides" in by_ada and "Pycon videos" not in by_ada
    assert "Parser slides" in text(client.get("/coverage/?topic=python&event=pycon"))
    assert "Parser slides" not in text(client.get("/coverage/?event=past"))
    unknown = text(client.get("/coverage/?kind=podcast&person=nobody&event=%01&topic=x"))
    assert "Not applied" in unknown and "kind: podcast" in unknown and "person: nobody" in unknown
    assert "Parser slides" in unknown
