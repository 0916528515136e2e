"""The events app's models: slugs made from names (any script) and kept in the history when
changed; only web URLs stored."""

import datetime as dt

import pytest

from lanyard_site.events.models import Coverage, Event, Person, SlugHistory, Topic
from tests.site.pages import alias, data  # noqa: F401  (fixtures: each test on SQLite and PostgreSQL)

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])



DAY = dt.date(2027, 3, 1)


def make_event(name, slug=""):
    return Event.objects.create(name=name, slug=slug, start_date=DAY, end_date=DAY)


def test_a_blank_slug_is_made_from_the_name_and_the_id(alias):
    event = make_event("PostgreSQL Forum São Paulo 2027")
    assert event.slug == f"postgresql-forum-sao-paulo-2027-{event.pk}"
    assert Event.objects.get(pk=event.pk).slug == event.slug
    person = Person.objects.create(name="Дмитрий Иванов")
    assert person.handle == f"dmitriy-ivanov-{person.pk}"
    assert Topic.objects.create(name="C++").slug == "c-plus-plus"


def test_a_hand_written_slug_is_brought_into_slug_form(alias):
    assert make_event("x", slug="São_Paulo Conf").slug == "sao-paulo-conf"


def test_changing_a_slug_keeps_the_old_one_and_answers_301(alias, client):
    event = make_event("Conf", slug="old-conf")
    event.slug = "new-conf"
    event.save()
    assert SlugHistory.objects.filter(kind="event", slug="old-conf", target_id=event.pk).exists()
    response = client.get("/events/old-conf/?x=1")
    assert response.status_code == 301 and response["Location"] == "/events/new-conf/?x=1"
    assert client.get("/events/new-conf/").status_code == 200
    # Taking the old slug back removes it from the history: it is current again.
    event.slug = "old-conf"
    event.save()
    assert not SlugHistory.objects.filter(kind="event", slug="old-conf").exists()
    assert client.get("/events/new-conf/")["Location"] == "/events/old-conf/"


def test_the_models_refuse_non_web_urls(data):
    from django.core.exceptions import ValidationError

    bad = Coverage(session=data["talk"], kind="video", title="x", url="javascript:alert(1)")
    with pytest.raises(ValidationError):
        bad.full_clean()
    data["pycon"].url = "ftp://files.example/"
    with pytest.raises(ValidationError):
        data["pycon"].full_clean()


def test_a_copy_read_before_a_touch_is_saved_with_a_version_never_used_before(alias):
    event = make_event("Stale Conf")
    versions = {event.cache_version}
    Event.objects.filter(pk=event.pk).touch()  # a cascade, while this copy is held
    versions.add(Event.objects.get(pk=event.pk).cache_version)
    event.name = "Stale Conf Renamed"
    event.save()
    assert event.cache_version not in versions  # else a fragment kept under it would show the old name
    assert Event.objects.get(pk=event.pk).cache_version == event.cache_version
    event.save(update_fields=["name"])
    assert Event.objects.get(pk=event.pk).cache_version == event.cache_version == max(versions) + 2
