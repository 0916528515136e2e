"""Site writes reach the Redis graph after commit; rolled-back writes never do."""

import datetime as dt

import pytest
from django.db import transaction

from digest.stores.keys import RedisKeys
from lanyard_site import stores
from lanyard_site.events.models import Attendance, Event, Follow, Person

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])

DAY = dt.date(2027, 3, 1)


@pytest.fixture(params=["default", "postgresql"])
def alias(request):
    return request.param


@pytest.fixture
def graph(redis_client):
    graph = stores.graph()
    keys = RedisKeys(graph.prefix)
    graph.redis.mset({keys.graph_live: 1, keys.graph(1).built: 1})  # an (empty) live generation
    return graph


def people(alias, *handles):
    return [Person.objects.using(alias).create(name=h.title(), handle=h) for h in handles]


def test_follow_reaches_redis_only_after_commit(alias, graph):
    ada, bob = people(alias, "ada", "bob")
    with transaction.atomic(using=alias):
        Follow.objects.using(alias).create(follower=ada, followee=bob)
        assert graph.follows(ada.pk) == set()  # not before the commit
    assert graph.follows(ada.pk) == {bob.pk}
    Follow.objects.using(alias).filter(follower=ada).delete()
    assert graph.follows(ada.pk) == set()


def test_a_pair_leaves_the_graph_with_its_last_source(alias, graph):
    ada, bob = people(alias, "ada", "bob")
    Follow.objects.using(alias).create(follower=ada, followee=bob, source=Follow.Source.MANUAL)
    Follow.objects.using(alias).create(follower=ada, followee=bob, source=Follow.Source.GITHUB)
    Follow.objects.using(alias).get(follower=ada, source=Follow.Source.GITHUB).delete()
    assert graph.follows(ada.pk) == {bob.pk}  # still followed on the site
    Follow.objects.using(alias).get(follower=ada, source=Follow.Source.MANUAL).delete()
    assert graph.follows(ada.pk) == set()


def test_rolled_back_write_changes_nothing(alias, graph):
    ada, bob = people(alias, "ada", "bob")
    with pytest.raises(RuntimeError), transaction.atomic(using=alias):
        Follow.objects.using(alias).create(follower=ada, followee=bob)
        raise RuntimeError("the request failed")
    assert graph.follows(ada.pk) == set()
    assert Follow.objects.using(alias).count() == 0


def test_attendance_roles_and_event_moves(alias, graph):
    (ada,) = people(alias, "ada")
    event = Event.objects.using(alias).create(name="Conf", slug="conf", start_date=DAY, end_date=DAY)
    attendance = Attendance.objects.using(alias).create(person=ada, event=event, role="speaking")
    assert graph.attendees(event.pk) == {ada.pk} and graph.speakers(event.pk) == {ada.pk}
    assert graph.events_of(ada.pk, start=DAY, end=DAY) == [event.pk]

    later = DAY + dt.timedelta(days=10)
    event.start_date = event.end_date = later
    event.save(using=alias)
    assert graph.events_of(ada.pk, start=DAY, end=DAY) == []
    assert graph.events_of(ada.pk, start=later, end=later) == [event.pk]

    attendance.role = "tracking"
    attendance.save(using=alias)
    assert graph.attendees(event.pk) == set() and graph.events_of(ada.pk) == []


def test_deleting_an_event_clears_its_sets(alias, graph):
    ada, bob = people(alias, "ada", "bob")
    event = Event.objects.using(alias).create(name="Conf", slug="conf", start_date=DAY, end_date=DAY)
    Attendance.objects.using(alias).create(person=ada, event=event, role="attending")
    Attendance.objects.using(alias).create(person=bob, event=event, role="speaking")
    event.delete()
    assert graph.attendees(event.pk) == set() and graph.speakers(event.pk) == set()
    assert graph.events_of(ada.pk) == [] and graph.events_of(bob.pk) == []


def test_cache_version_is_bumped_by_save_touch_and_bulk(alias, graph):
    event = Event.objects.using(alias).create(name="Conf", slug="conf", start_date=DAY, end_date=DAY)
    assert event.cache_version == 1
    event.name = "Conf 2"
    event.save(using=alias, update_fields=["name"])
    assert Event.objects.using(alias).get(pk=event.pk).cache_version == 2
    event.refresh_from_db()
    event.touch()
    assert event.cache_version == 3
    Event.objects.using(alias).filter(pk=event.pk).touch()  # mass invalidation: one UPDATE
    assert Event.objects.using(alias).get(pk=event.pk).cache_version == 4
