"""Rows by a long list of ids in one parameter (events/selectors/many_ids.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from lanyard_site.events.models import Event
from lanyard_site.events.selectors.many_ids import pk_among
from tests.site.pages import alias, event  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])


def test_a_long_list_is_one_parameter_and_finds_the_same_rows(alias):
    events = [event(f"e{n:03d}", n) for n in range(120)]
    wanted = [e.pk for e in events[::2]] + [10**9]  # and an id with no row
    with CaptureQueriesContext(connections[alias]) as captured:
        found = list(pk_among(Event.objects.order_by("start_date"), wanted).values_list("pk", flat=True))
    assert found == [e.pk for e in events[::2]]
    (query,) = captured.captured_queries
    assert "IN (SELECT " in query["sql"]  # the database unpacks one value, not 61 placeholders


def test_a_short_list_and_an_empty_one(alias):
    a, b = event("a", 1), event("b", 2)
    assert set(pk_among(Event.objects.all(), [a.pk])) == {a}
    assert set(pk_among(Event.objects.all(), set())) == set()
    assert b not in pk_among(Event.objects.all(), [a.pk])
