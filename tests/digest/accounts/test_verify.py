"""rel="me" verification through the guarded client: GitHub's website, a Mastodon profile page, a Bluesky domain."""

from __future__ import annotations

import pytest

from digest.accounts.linking import identity_find
from digest.accounts.sources import source_parse
from digest.accounts.verify import NotVerified, account_verify, same_page
from digest.vocabulary import VerifiedVia

PAGE = "https://lanyard.example/people/ada/"


def test_github_website_field(env, github):
    github.add_user("ada", blog="http://lanyard.example/people/ada")
    identity = identity_find(env, source=source_parse("github:ada"))
    assert account_verify(env, identity=identity, person_handle="ada") is VerifiedVia.REL_ME
    with pytest.raises(NotVerified, match="github:ada's website is not https://lanyard.example/people/eve/"):
        account_verify(env, identity=identity, person_handle="eve")


def test_mastodon_profile_rel_me(env, mastodon):
    mastodon.add_account("ada", links=["https://example.org/", PAGE])
    mastodon.add_account("eve", links=["https://lanyard.example/people/ada-impostor/"])
    ada = identity_find(env, source=source_parse(f"{mastodon.base_url}/@ada"))
    assert account_verify(env, identity=ada, person_handle="ada") is VerifiedVia.REL_ME
    eve = identity_find(env, source=source_parse(f"{mastodon.base_url}/@eve"))
    with pytest.raises(NotVerified, match=r'has no rel="me" link to https://lanyard.example/people/ada/'):
        account_verify(env, identity=eve, person_handle="ada")


def test_bluesky_handle_on_own_domain(env, bluesky):
    ada = bluesky.add_profile("ada.example.com")
    identity = identity_find(env, source=source_parse("bluesky:ada.example.com"))
    with pytest.raises(NotVerified, match="is not a handle on its own domain"):
        account_verify(env, identity=identity, person_handle="ada")
    bluesky.domain_did = ada.did
    with pytest.raises(NotVerified, match='the home page of ada.example.com has no rel="me" link'):
        account_verify(env, identity=identity, person_handle="ada")
    bluesky.home_links = [PAGE]
    assert account_verify(env, identity=identity, person_handle="ada") is VerifiedVia.DOMAIN_HANDLE


def test_same_page_ignores_scheme_and_trailing_slash_only():
    assert same_page("http://lanyard.example/people/ada", PAGE)
    assert not same_page("https://lanyard.example/people/ada/extra", PAGE)
    assert not same_page("javascript:alert(1)//lanyard.example/people/ada/", PAGE)
    assert not same_page("https://evil.example/people/ada/", PAGE)
