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
from lanyard_site.events.models import Person
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
