"""Sign in with GitHub through allauth against the GitHub stand-in: a new user, their person,
the account linked verified by OAuth; no token stored; a wrong state refused."""

from __future__ import annotations

import html

import httpx
import pytest
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from allauth.socialaccount.providers.github.views import GitHubOAuth2Adapter
from django.conf import settings
from django.contrib.auth.models import User
from django.test import override_settings

from lanyard_site.accounts.models import Account
from lanyard_site.events.models import Follow, Person
from tests.site.personal.conftest import make_person, sign_in
from tests.standins.github import GitHubStandIn

pytestmark = pytest.mark.django_db(databases=["default", "postgresql"], transaction=True)


@pytest.fixture
def github(lanyard_settings, monkeypatch):
    with GitHubStandIn() as server:
        web = server.base_url
        for name, value in (("access_token_url", f"{web}/login/oauth/access_token"),
                            ("authorize_url", f"{web}/login/oauth/authorize"), ("profile_url", f"{web}/api/v3/user")):
            monkeypatch.setattr(GitHubOAuth2Adapter, name, value)
        providers = {"github": {**settings.SOCIALACCOUNT_PROVIDERS["github"],
                                "APP": {"client_id": "lanyard-test", "secret": "s3cret", "key": ""}}}
        with override_settings(SOCIALACCOUNT_PROVIDERS=providers):
            yield server


def _sign_in(client, github, *, state: str | None = None):
    start = client.post("/auth/github/login/", {"process": "login"})
    assert start.status_code == 302 and start["Location"].startswith(github.base_url), start
    back = httpx.get(start["Location"]).headers["location"].removeprefix("http://testserver")
    if state is not None:
        back = back.split("&state=")[0] + f"&state={state}"
    return client.get(back, follow=True)


def test_a_github_sign_in_makes_the_person_and_links_the_account_verified(client, github):
    github.add_user("octo", user_id=583231, email="octo@example.com")
    github.signed_in = "octo"
    page = _sign_in(client, github)
    assert page.redirect_chain[-1][0].endswith("/accounts/connected/"), page.redirect_chain
    account = Account.objects.get(provider="github")
    assert account.external_id == "583231" and account.verified_via == "oauth" and account.handle == "octo"
    person = Person.objects.get(pk=account.person_id)
    assert person.user.email == "octo@example.com" and person.subscriptions.count() == 1
    assert not SocialToken.objects.exists() and not SocialApp.objects.exists()


def test_a_github_callback_with_a_wrong_state_is_refused(client, github):
    github.add_user("octo", user_id=583231)
    github.signed_in = "octo"
    page = _sign_in(client, github, state="forged")
    assert "nothing was changed" in html.unescape(page.content.decode())
    assert not Account.objects.exists() and not Person.objects.exists()


def test_a_link_refused_right_after_a_new_sign_in_leaves_no_user_or_person_behind(
        client, github, link_taken_meanwhile):
    github.add_user("octo", user_id=583231, email="octo@example.com")
    github.signed_in = "octo"
    grace = Person.objects.create(name="Grace", handle="grace")
    link_taken_meanwhile(grace, "github", "583231")
    page = _sign_in(client, github)
    assert page.status_code == 200 and "nothing was changed" in html.unescape(page.content.decode())
    assert not User.objects.exists() and list(Person.objects.values_list("handle", flat=True)) == ["grace"]
    assert not SocialAccount.objects.exists() and Account.objects.get().person == grace
    assert "_auth_user_id" not in client.session


def _connect(client, github):
    start = client.post("/auth/github/login/", {"process": "connect", "next": "/accounts/connected/"})
    assert start.status_code == 302 and start["Location"].startswith(github.base_url), start
    back = httpx.get(start["Location"]).headers["location"].removeprefix("http://testserver")
    return client.get(back, follow=True)


def test_a_signed_in_person_connects_github_then_disconnects_it_keeping_manual_follows(client, github):
    ada = sign_in(client, make_person("ada"))
    bob, grace = make_person("bob"), make_person("grace")
    Account.objects.create(person=bob, provider="github", external_id="77", handle="bob")
    Follow.objects.create(follower=ada, followee=grace)  # by hand
    github.add_user("ada-gh", user_id=583231)
    github.signed_in = "ada-gh"
    page = _connect(client, github)
    assert page.redirect_chain[-1][0] == "/accounts/connected/"
    account = Account.objects.get(person=ada)
    assert (account.external_id, account.handle, account.verified_via) == ("583231", "ada-gh", "oauth")
    assert SocialAccount.objects.get().user == ada.user and User.objects.count() == 1
    Follow.objects.create(follower=ada, followee=bob, source="github")  # as an import of the list makes it

    page = client.post(f"/accounts/connected/{account.pk}/disconnect/", follow=True)
    assert "Disconnected GitHub account ada-gh" in html.unescape(page.content.decode())
    assert not Account.objects.filter(person=ada).exists() and not SocialAccount.objects.exists()
    assert list(Follow.objects.values_list("followee__handle", "source")) == [("grace", "manual")]


def test_the_only_way_to_sign_in_is_not_disconnected(client, github):
    github.add_user("octo", user_id=583231)
    github.signed_in = "octo"
    _sign_in(client, github)
    account = Account.objects.get(provider="github")
    page = client.post(f"/accounts/connected/{account.pk}/disconnect/", follow=True)
    assert ("You sign in with this account and have no password: set one first"
            in html.unescape(page.content.decode()))
    assert Account.objects.filter(pk=account.pk).exists() and SocialAccount.objects.exists()
