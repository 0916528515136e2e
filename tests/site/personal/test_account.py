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

from .conftest import PASSWORD, make_event, make_person, sign_in

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
    folder = Path(settings.LANYARD.mail.transport.path) / "new"
    files = sorted(folder.iterdir(), key=lambda f: f.stat().st_mtime) if folder.exists() else []
    return [email.message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]


@pytest.fixture
def empty_outbox():
    """The project's maildir outbox, emptied, as the email backend (the test runner would swap in its own)."""
    folder = Path(settings.LANYARD.mail.transport.path) / "new"
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
    assert f"{settings.LANYARD.site.base_url}/people/{grace.handle}/" in welcome.get_content()

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
    assert link.startswith(settings.LANYARD.site.base_url)
    path = link[len(settings.LANYARD.site.base_url) :]
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


SIGN_UP = {"username": "ori", "email": "ori@example.com", "name": "אורי לוי", "password1": PASSWORD,
           "password2": PASSWORD}


@pytest.mark.parametrize("password", ["123", "password", "12345678901", "ori"])
def test_sign_up_refuses_weak_passwords(client, alias, password):
    response = client.post("/accounts/signup/", {**SIGN_UP, "password1": password, "password2": password})
    assert response.status_code == 200 and 'class="error"' in response.content.decode()
    assert not User.objects.exists()


def test_sign_up_says_it_subscribes_and_lets_you_choose(client, alias):
    page = client.get("/accounts/signup/").content.decode()
    assert "An email of the upcoming events the people you follow" in page and 'value="none"' in page
    client.post("/accounts/signup/", {**SIGN_UP, "digest": "none"})
    ori = Person.objects.get(user__username="ori")
    assert not ori.subscriptions.exists()
    client.post("/accounts/logout/")
    client.post("/accounts/signup/", {**SIGN_UP, "username": "ori2", "email": "o2@example.com", "digest": "weekly"})
    assert Person.objects.get(user__username="ori2").subscriptions.get().list == "weekly"


def test_sign_up_with_a_chosen_handle_and_the_made_one_explained(client, alias):
    page = client.get("/accounts/signup/").content.decode()
    assert "lanyard makes one from your name in Latin letters" in page
    response = client.post("/accounts/signup/", {**SIGN_UP, "handle": "ori-levi"})
    assert response.status_code == 302 and response["Location"] == "/people/ori-levi/"
    client.post("/accounts/logout/")
    taken = client.post("/accounts/signup/", {**SIGN_UP, "username": "o2", "email": "o2@example.com",
                                              "handle": "ori-levi"})
    assert "The handle &#x27;ori-levi&#x27; is taken" in taken.content.decode()
    bad = client.post("/accounts/signup/", {**SIGN_UP, "username": "o2", "email": "o2@example.com",
                                            "handle": "Ori Levi!"})
    assert "A handle is 2 to 64 lowercase letters" in bad.content.decode()
    assert User.objects.count() == 1


def test_changing_the_handle_keeps_old_links_working(client, alias):
    ori = sign_in(client, make_person("vry-7", name="אורי"))
    response = client.post("/accounts/profile/", {**VALID, "handle": "ori"}, follow=True)
    assert "Profile saved." in response.content.decode()
    ori.refresh_from_db()
    assert ori.handle == "ori"
    old = client.get("/people/vry-7/")
    assert old.status_code == 301 and old["Location"] == "/people/ori/"
    # Someone else cannot take the old handle: its links lead to ori.
    client.post("/accounts/logout/")
    sign_in(client, make_person("bob"))
    refused = client.post("/accounts/profile/", {**VALID, "handle": "vry-7"})
    assert "is taken" in refused.content.decode()


def test_an_account_without_a_profile_makes_one(client, alias):
    user = User.objects.create_user("staff", password=PASSWORD, email="staff@example.com")
    client.post("/accounts/login/", {"username": "staff", "password": PASSWORD})
    event = make_event("pycon", 5)
    response = client.post(f"/events/{event.slug}/attendance/", {"role": "attending"}, follow=True)
    page = response.content.decode()
    assert "make one here" in page and "Make my profile" in page
    made = client.post("/accounts/profile/", {"name": "Sam Staff", "handle": ""}, follow=True)
    assert "Your profile is made" in made.content.decode()
    person = Person.objects.get(user=user)
    assert person.handle == f"sam-staff-{person.pk}" and person.subscriptions.get().email == "staff@example.com"
    client.post(f"/events/{event.slug}/attendance/", {"role": "attending"})
    assert person.attendances.filter(event=event).exists()
