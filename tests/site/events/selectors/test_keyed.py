"""Rows by one key in SQL made once per model (events/selectors/keyed.py), on SQLite and
PostgreSQL: the same rows and values as the ORM's reads, from the database the router
picks, one query each."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from lanyard_site.events.models import Event, Person
from lanyard_site.events.selectors import keyed
from lanyard_site.events.selectors.keyed import row_by, rows_by_pk
from tests.site.pages import alias, event, person  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])


def fields_of(row) -> dict:
    return {f.attname: getattr(row, f.attname) for f in type(row)._meta.concrete_fields}


def test_a_row_by_its_key_is_the_orms_row_with_every_value_converted(alias):
    made = event("pycon", 10, city="Lyon", cfp_deadline=dt.date(2030, 1, 2), description="Talks.")
    with CaptureQueriesContext(connections[alias]) as captured:
        found = row_by(Event, "slug", "pycon")
    assert len(captured.captured_queries) == 1  # on the database the router picked for reads
    assert fields_of(found) == fields_of(Event.objects.get(pk=made.pk))
    assert isinstance(found.start_date, dt.date) and isinstance(found.created_at, dt.datetime)
    assert found._loaded_slug == "pycon"  # made by the model's from_db, as the ORM makes it
    assert row_by(Event, "slug", "no-such-event") is None
    assert row_by(Person, "handle", "nobody") is None


def test_rows_by_id_answer_as_in_bulk_does(alias):
    people = [person(f"p{n}", bio=f"bio {n}") for n in range(5)]
    wanted = [people[3].pk, people[0].pk, people[3].pk, 10**9]  # a repeat, and an id with no row
    with CaptureQueriesContext(connections[alias]) as captured:
        found = rows_by_pk(Person, wanted)
    assert len(captured.captured_queries) == 1
    assert {pk: fields_of(row) for pk, row in found.items()} == {
        pk: fields_of(row) for pk, row in Person.objects.in_bulk(wanted).items()
    }
    assert set(found) == {people[3].pk, people[0].pk}
    with CaptureQueriesContext(connections[alias]) as captured:
        assert rows_by_pk(Person, []) == {}
    assert captured.captured_queries == []


def test_a_list_longer_than_the_limit_goes_the_orms_way(alias, monkeypatch):
    people = [person(f"q{n}") for n in range(4)]
    monkeypatch.setattr(keyed, "MAX_IDS", 2)
    with CaptureQueriesContext(connections[alias]) as captured:
        found = rows_by_pk(Person, [p.pk for p in people])
    assert set(found) == {p.pk for p in people}
    assert '"person"."id" IN' in captured.captured_queries[0]["sql"]  # the ORM's SQL, table-qualified


def test_a_field_that_is_not_a_column_of_the_model_is_refused():
    with pytest.raises(ValueError, match="no column 'speakers'"):
        keyed._select(Person, "default", "speakers")


def test_a_few_fields_by_id_are_the_orms_values_in_named_tuples(alias):
    from lanyard_site.events.selectors.keyed import fields_by_pk

    shown = ("slug", "name", "start_date", "end_date", "city", "country")
    made = [event(f"e{n}", n, city=f"City {n}", country="France") for n in range(3)]
    wanted = [made[2].pk, made[0].pk, 10**9]
    with CaptureQueriesContext(connections[alias]) as captured:
        found = fields_by_pk(Event, wanted, shown)
    assert len(captured.captured_queries) == 1
    orm = {row[0]: row for row in Event.objects.filter(pk__in=wanted).values_list("pk", *shown)}
    assert {pk: tuple(row) for pk, row in found.items()} == orm and set(found) == {made[2].pk, made[0].pk}
    row = found[made[0].pk]
    assert row.pk == made[0].pk and row.slug == "e0" and type(row.start_date) is dt.date
    with CaptureQueriesContext(connections[alias]) as captured:
        assert fields_by_pk(Event, [], shown) == {}
    assert captured.captured_queries == []


def test_a_few_fields_of_more_ids_than_one_query_takes_come_in_several(alias, monkeypatch):
    from lanyard_site.events.selectors.keyed import fields_by_pk

    made = [event(f"f{n}", n) for n in range(5)]
    monkeypatch.setattr(keyed, "MAX_IDS", 2)
    with CaptureQueriesContext(connections[alias]) as captured:
        found = fields_by_pk(Event, [e.pk for e in made], ("slug",))
    assert len(captured.captured_queries) == 3  # 2 + 2 + 1: none left out
    assert {pk: row.slug for pk, row in found.items()} == {e.pk: e.slug for e in made}


@pytest.mark.parametrize("refused", ["created_at", "topics"])  # a date-time (naive on SQLite), a relation
def test_fields_that_are_date_times_or_relations_are_refused(refused):
    with pytest.raises(ValueError, match="only plain columns"):
        keyed._fields_select(Event, "default", (refused,))
