"""The digest admin (mailing/admin.py): bounce and complaint decisions visible, read-only; the
runtime schedule's form checks values like `lanyard schedule set` does."""

import datetime as dt

import pytest
from django.contrib.auth.models import User

from lanyard_site.events.models import Person
from lanyard_site.mailing.admin import ScheduleForm
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
