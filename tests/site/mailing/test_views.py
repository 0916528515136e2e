"""The subscriptions page (mailing/views.py): leave and rejoin, POST with CSRF, only your own."""


import pytest

from digest.stores.keys import RedisKeys
from lanyard_site import stores
from lanyard_site.mailing.models import Subscription, UnsubscribeEvent
from tests.site.pages import alias, data, signed_in, text  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])



@pytest.fixture
def subscriber(client, data):
    me = signed_in(client, data["ada"])
    return Subscription.objects.create(person=me, email="ada@example.com", list="daily")


def suppressed(subscription):
    keys = RedisKeys(stores.graph().prefix)
    return stores.redis().sismember(keys.unsubscribe_suppressed, subscription.pk)


def test_subscriptions_page_unsubscribes_and_resubscribes(client, subscriber):
    page = text(client.get("/subscriptions/"))
    assert "ada@example.com" in page and "daily digest" in page and "Unsubscribe" in page

    response = client.post(f"/subscriptions/{subscriber.pk}/unsubscribe/")
    assert response.status_code == 302 and response["Location"] == "/subscriptions/"
    subscriber.refresh_from_db()
    assert subscriber.status == "unsubscribed" and suppressed(subscriber)
    audit = UnsubscribeEvent.objects.get(subscription=subscriber)
    assert (audit.action, audit.via) == ("unsubscribe", "site")
    assert "Resubscribe" in text(client.get("/subscriptions/"))

    client.post(f"/subscriptions/{subscriber.pk}/resubscribe/")
    subscriber.refresh_from_db()
    assert subscriber.status == "active" and not suppressed(subscriber)
    assert [(e.action, e.via) for e in UnsubscribeEvent.objects.filter(subscription=subscriber).order_by("pk")] == [
        ("unsubscribe", "site"), ("resubscribe", "site"),
    ]


def test_subscription_changes_need_a_post_with_csrf(subscriber):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(subscriber.person.user)
    assert strict.get(f"/subscriptions/{subscriber.pk}/unsubscribe/").status_code == 405
    assert strict.post(f"/subscriptions/{subscriber.pk}/unsubscribe/").status_code == 403
    subscriber.refresh_from_db()
    assert subscriber.status == "active" and not suppressed(subscriber)
    assert not UnsubscribeEvent.objects.exists()


def test_another_persons_subscription_is_404(client, subscriber, data):
    theirs = Subscription.objects.create(person=data["bob"], email="bob@example.com")
    assert "bob@example.com" not in text(client.get("/subscriptions/"))
    assert client.post(f"/subscriptions/{theirs.pk}/unsubscribe/").status_code == 404
    assert client.post(f"/subscriptions/{subscriber.pk}/delete/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "active" and not suppressed(theirs)
