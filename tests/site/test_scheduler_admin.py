"""The runtime schedule's admin form checks values like `lanyard schedule set` does."""

import pytest

from lanyard_site.mailing.admin import ScheduleForm

pytestmark = pytest.mark.django_db(databases=["default", "postgresql"])


def form(**overrides):
    data = {
        "paused": False, "tick_seconds": 300, "default_send_hour": 7, "lists": "daily,weekly", "weekly_day": 0,
        "rate_limit": 0, "chunk_size": 500, "chunk_timeout": 600, "max_attempts": 5,
    }
    data.update(overrides)
    return ScheduleForm(data=data)


def test_a_good_schedule_is_accepted_and_normalised():
    f = form(lists=" daily , daily ")
    assert f.is_valid(), f.errors
    assert f.cleaned_data["lists"] == "daily"


@pytest.mark.parametrize(
    "field, value", [("lists", "daily,monthly"), ("default_send_hour", 24), ("weekly_day", 7), ("tick_seconds", 1)]
)
def test_bad_values_are_refused(field, value):
    f = form(**{field: value})
    assert not f.is_valid()
    assert field in f.errors
