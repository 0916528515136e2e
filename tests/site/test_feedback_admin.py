"""Bounce and complaint decisions are visible in the admin, read-only."""

import datetime as dt

import pytest
from django.contrib.auth.models import User

from lanyard_site.events.models import Person
from lanyard_site.mailing.models import Delivery, DeliveryFeedback, DigestRun, Subscription

pytestmark = pytest.mark.django_db(databases=["default", "postgresql"])


@pytest.fixture
def feedback():
    person = Person.objects.create(name="Ada Li", handle="ada-li")
    subscription = Subscription.objects.create(person=person, email="ada@example.org", status="bouncing")
    run = DigestRun.objects.create(digest_date=dt.date(2026, 12, 1), status="finished")
    delivery = Delivery.objects.create(
        run=run, subscription=subscription, digest_date=dt.date(2026, 12, 1), status="bounced",
        message_id="<digest.20261201.1@lanyard.example>", feedback="hard_bounce",
    )
    return DeliveryFeedback.objects.create(
        delivery=delivery, subscription=subscription, kind="hard_bounce", status_code="5.1.1",
        diagnostic="550 5.1.1 User unknown", matched_by="return_path", source="smtp", decision="bouncing",
        detail="hard bounce 5.1.1: subscription marked bouncing", fingerprint="f" * 64,
        received_at=dt.datetime(2026, 12, 1, 7, 5, tzinfo=dt.UTC),
    )


@pytest.fixture
def admin(client):
    user = User.objects.create_superuser("root", "root@example.org", "pw")
    client.force_login(user)
    return client


def test_the_feedback_list_shows_each_decision(admin, feedback):
    page = admin.get("/admin/mailing/deliveryfeedback/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "5.1.1" in body and "hard bounce 5.1.1: subscription marked bouncing" in body
    assert admin.get("/admin/mailing/deliveryfeedback/?kind__exact=complaint").content.decode().count("5.1.1") == 0
    assert admin.get("/admin/mailing/deliveryfeedback/add/").status_code == 403


def test_the_delivery_and_subscription_pages_show_their_reports(admin, feedback):
    delivery = admin.get(f"/admin/mailing/delivery/{feedback.delivery_id}/change/")
    assert delivery.status_code == 200
    assert "subscription marked bouncing" in delivery.content.decode()
    subscription = admin.get(f"/admin/mailing/subscription/{feedback.subscription_id}/change/")
    assert "subscription marked bouncing" in subscription.content.decode()
    listing = admin.get("/admin/mailing/delivery/?feedback__exact=hard_bounce").content.decode()
    assert "ada@example.org" in listing


def test_a_recorded_report_cannot_be_edited(admin, feedback):
    response = admin.post(f"/admin/mailing/deliveryfeedback/{feedback.pk}/change/", {"decision": "no_change"})
    assert response.status_code == 403
    feedback.refresh_from_db()
    assert feedback.decision == "bouncing"
