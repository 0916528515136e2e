"""Sign in and connect with Mastodon on any server: app registration on first use, the OAuth
code flow with its state checked, the token sealed, disconnect revoking it; every failure
one clear line with nothing changed. Against the Mastodon stand-in on loopback."""

from __future__ import annotations

import html
import re

import httpx
import pytest
from django.contrib.auth.models import User

from lanyard_site.accounts.models import Account
from lanyard_site.events.models import Follow, Person
from lanyard_site.social.mastodon import MastodonRefused, server_origin
from lanyard_site.social.models import AccountToken, MastodonServer
from tests.site.personal.conftest import make_person, sign_in

pytestmark = pytest.mark.django_db(databases=["default", "postgresql"], transaction=True)


def text(page) -> str:
    return html.unescape(page.content.decode())


def _start(client, server_field: str):
    return client.post("/accounts/mastodon/", {"server": server_field})


def authorize_url(response) -> str:
    """Where the start page sends the browser on: its refresh and its link say the same."""
    assert response.status_code == 200 and response["Cache-Control"].startswith("max-age=0"), response
    page = text(response)
    link = re.search(r'<a class="button" id="continue" href="([^"]+)"', page)
    assert link is not None and f'content="0;url={link[1]}"' in page
    return link[1]


def _approve(client, response, mastodon, *, state: str | None = None):
    """The browser at the server's authorize page; the stand-in approves and sends it back."""
    url = authorize_url(response)
    assert url.startswith(mastodon.base_url + "/oauth/authorize?")
    back = httpx.get(url).headers["location"]
    path = back.removeprefix("http://testserver")
    if state is not None:
        path = path.split("&state=")[0] + f"&state={state}"
    return client.get(path, follow=True)


def test_a_new_visitor_signs_in_with_mastodon_and_is_connected_verified(client, mastodon, lanyard_settings):
    mastodon.add_account("ada", following=[])
    mastodon.signed_in = "ada"
    page = _approve(client, _start(client, mastodon.base_url), mastodon)
    assert "signed in with Mastodon as ada@" in text(page)
    account = Account.objects.get(provider="mastodon")
    assert account.external_id == mastodon.uri("ada") and account.verified and account.verified_via == "oauth"
    assert account.person.user.username == "ada" and not account.person.user.has_usable_password()
    token = AccountToken.objects.get(account=account)
    live = next(iter(mastodon.tokens))
    assert live not in token.token_sealed  # sealed at rest
    assert MastodonServer.objects.get().origin == mastodon.base_url
    # the page the new user lands on: the figure, and the import under way or done
    assert "people you follow" in text(page) or "person you follow" in text(page)

    # a second sign-in: the same user, the app not registered again, the old token revoked
    client.logout()
    mastodon.signed_in = "ada"
    _approve(client, _start(client, mastodon.base_url), mastodon)
    assert User.objects.count() == 1 and MastodonServer.objects.count() == 1 and len(mastodon.apps) == 1
    assert mastodon.revoked == [live]


def test_a_callback_with_a_wrong_state_is_refused_and_changes_nothing(client, mastodon, lanyard_settings):
    mastodon.add_account("ada")
    mastodon.signed_in = "ada"
    page = _approve(client, _start(client, mastodon.base_url), mastodon, state="forged")
    assert "did not match this browser's request (state); nothing was changed" in text(page)
    assert not Account.objects.exists() and not User.objects.exists() and not AccountToken.objects.exists()


def test_disconnect_revokes_the_token_and_keeps_manual_follows(client, mastodon, lanyard_settings):
    ada = sign_in(client, make_person("ada"))
    friend = make_person("grace")
    Follow.objects.create(follower=ada, followee=friend)
    mastodon.add_account("ada")
    mastodon.signed_in = "ada"
    page = _approve(client, _start(client, mastodon.base_url), mastodon)
    assert "Connected your Mastodon account ada@" in text(page)
    account = Account.objects.get(person=ada)
    token = next(iter(mastodon.tokens))
    page = client.post(f"/accounts/connected/{account.pk}/disconnect/", follow=True)
    assert "Disconnected Mastodon account" in text(page)
    assert mastodon.revoked == [token]
    assert not Account.objects.exists() and not AccountToken.objects.exists()
    assert list(Follow.objects.values_list("followee__handle", "source")) == [("grace", "manual")]


def test_a_server_that_is_down_is_one_line_and_nothing_changes(client, mastodon, lanyard_settings):
    origin = mastodon.base_url
    mastodon.stop()
    page = _start(client, origin)
    assert page.status_code == 302
    page = client.get(page["Location"])
    assert "could not be reached" in text(page) and "nothing was changed" in text(page)
    assert not MastodonServer.objects.exists()


def test_the_signed_in_user_cannot_take_another_persons_account(client, mastodon, lanyard_settings):
    mastodon.add_account("ada")
    mastodon.signed_in = "ada"
    _approve(client, _start(client, mastodon.base_url), mastodon)
    client.logout()
    sign_in(client, make_person("mallory"))
    page = _approve(client, _start(client, mastodon.base_url), mastodon)
    assert "belongs to another lanyard profile; nothing was changed" in text(page)
    assert Account.objects.get().person.handle != "mallory"


@pytest.mark.parametrize("typed, origin", [
    ("mastodon.social", "https://mastodon.social"),
    ("@ada@Mastodon.Social", "https://mastodon.social"),
    ("ada@hachyderm.io", "https://hachyderm.io"),
    ("https://fosstodon.org/@ada", "https://fosstodon.org"),
])
def test_what_people_type_names_a_server(typed, origin):
    assert server_origin(typed) == origin


@pytest.mark.parametrize("typed", ["", "http://mastodon.social", "ftp://x.org", "two words", "a/b@c/d"])
def test_what_names_no_usable_server_is_refused(typed):
    with pytest.raises(MastodonRefused):
        server_origin(typed)


def test_a_link_refused_right_after_a_new_sign_in_leaves_no_user_or_person_behind(
        client, mastodon, lanyard_settings, link_taken_meanwhile):
    mastodon.add_account("ada")
    mastodon.signed_in = "ada"
    grace = make_person("grace")
    link_taken_meanwhile(grace, "mastodon", mastodon.uri("ada"))
    page = _approve(client, _start(client, mastodon.base_url), mastodon)
    assert "belongs to another lanyard profile; nothing was changed" in text(page)
    assert not User.objects.exists() and list(Person.objects.values_list("handle", flat=True)) == ["grace"]
    assert not AccountToken.objects.exists() and Account.objects.get().person == grace
    assert "_auth_user_id" not in client.session  # not signed in as a user that is gone
