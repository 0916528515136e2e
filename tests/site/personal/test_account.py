"""Profile edit (refusals with reasons), sign-up and password reset with their emails in the outbox."""

from __future__ import annotations

import email
import re
from email import policy
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import override_settings

from lanyard_site.events.models import Person
from lanyard_site.mailing.models import Subscription

from .conftest import PASSWORD, make_person, sign_in

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgresql"])

VALID = {
    "name": "Ada L.",
    "bio": "Compilers.",
    "avatar_url": "https://img.example/ada.png",
    "timezone": "Europe/Paris",
    "list_name": "weekly",
    "send_hour": "6",
}


def outbox() -> list[email.message.EmailMessage]:
    folder = Path(settings.LANYARD.mail.path) / "new"
    files = sorted(folder.iterdir(), key=lambda f: f.stat().st_mtime) if folder.exists() else []
    return [email.message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]


@pytest.fixture
def empty_outbox():
    """The project's maildir outbox, emptied, as the email backend (the test runner would swap in its own)."""
    folder = Path(settings.LANYARD.mail.path) / "new"
    for f in folder.glob("*") if folder.exists() else []:
        f.unlink()
    with override_settings(EMAIL_BACKEND="lanyard_site.personal.mail.TransportEmailBackend"):
        yield


def test_profile_edit_saves_the_profile_and_the_digest(client, alias):
    ada = sign_in(client, make_person("ada"))
    Subscription.objects.create(person=ada, email="ada@example.com", list="daily", send_hour=7)
    response = client.post("/accounts/profile/", VALID, follow=True)
    assert "Profile saved." in response.content.decode()
    ada.refresh_from_db()
    assert (ada.name, ada.bio, ada.avatar_url, ada.timezone) == (
        "Ada L.",
        "Compilers.",
        "https://img.example/ada.png",
        "Europe/Paris",
    )
    subscription = ada.subscriptions.get()
    assert (subscription.list, subscription.send_hour) == ("weekly", 6)
    assert "Signed in as" in response.content.decode() and ">Ada L.</a>" in response.content.decode()  # the bar follows


@pytest.mark.parametrize(
    "field, value, reason",
    [
        ("avatar_url", "javascript:alert(1)", "The avatar URL must be an http:// or https:// address."),
        ("avatar_url", "ftp://files.example/a.png", "The avatar URL must be an http:// or https:// address."),
        ("timezone", "Mars/Olympus_Mons", "is not a time zone; use a name such as Europe/Paris or UTC."),
        ("send_hour", "25", "The send hour must be between 0 and 23."),
        ("send_hour", "-1", "The send hour must be between 0 and 23."),
        ("list_name", "monthly", "Select a valid choice."),
        ("name", "", "This field is required."),
    ],
)
def test_profile_refusals_name_the_reason(client, alias, field, value, reason):
    ada = sign_in(client, make_person("ada", bio="Before."))
    response = client.post("/accounts/profile/", {**VALID, field: value})
    assert response.status_code == 200
    assert reason in response.content.decode().replace("&#x27;", "'")
    ada.refresh_from_db()
    assert ada.bio == "Before." and not ada.subscriptions.exists()  # nothing saved


def test_switching_to_a_list_already_held_is_refused(client, alias):
    ada = sign_in(client, make_person("ada"))
    Subscription.objects.create(person=ada, email="ada@example.com", list="daily")
    Subscription.objects.create(person=ada, email="ada@example.com", list="weekly")
    response = client.post("/accounts/profile/", VALID)
    assert "You already have a weekly subscription" in response.content.decode()


def test_sign_up_then_reset_the_password(client, alias, empty_outbox):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "grace",
            "email": "grace@example.com",
            "name": "Grace Hopper",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
        follow=True,
    )
    assert response.status_code == 200
    grace = Person.objects.get(user__username="grace")
    assert grace.name == "Grace Hopper" and grace.subscriptions.get().email == "grace@example.com"
    assert "Signed in as" in response.content.decode()
    (welcome,) = outbox()
    assert welcome["To"] == "grace@example.com" and welcome["Subject"] == "Welcome to lanyard"
    assert f"{settings.LANYARD.base_url}/people/{grace.handle}/" in welcome.get_content()

    again = client.post(
        "/accounts/signup/",
        {"username": "grace2", "email": "GRACE@example.com", "name": "G", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert "An account with this email address exists already" in again.content.decode()
    assert User.objects.count() == 1

    client.post("/accounts/logout/")
    response = client.post("/accounts/password-reset/", {"email": "grace@example.com"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password-reset/sent/"
    reset = outbox()[-1]
    assert reset["Subject"] == "Your lanyard password" and reset["To"] == "grace@example.com"
    link = re.search(r"https?://\S+/accounts/reset/\S+/", reset.get_content()).group()
    assert link.startswith(settings.LANYARD.base_url)
    path = link[len(settings.LANYARD.base_url) :]
    form = client.get(path, follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a new long passphrase 42", "new_password2": "a new long passphrase 42"},
    )
    assert done.status_code == 302
    assert client.login(username="grace", password="a new long passphrase 42")
    # An address with no account: the same answer, no email.
    count = len(outbox())
    assert client.post("/accounts/password-reset/", {"email": "nobody@example.com"}).status_code == 302
    assert len(outbox()) == count
