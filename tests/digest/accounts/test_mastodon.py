"""Mastodon (and Pleroma/Akkoma) against the stand-in: lookup, URIs as ids, Link pages, unusable accounts."""

from __future__ import annotations

import pytest

from digest.accounts.errors import AccountNotFound, AccountUnusable, RateLimited, TokenRefused
from digest.accounts.imports import follows_import, follows_import_source
from digest.accounts.linking import account_link, identity_find
from digest.accounts.sources import source_parse
from tests.digest.accounts.conftest import NOW
from tests.digest.accounts.helpers import account, follows, listed
from tests.standins.mastodon import MastodonStandIn


@pytest.fixture
def other_server():
    """A second Mastodon server: follows across servers match by URI."""
    with MastodonStandIn() as server:
        yield server


def link(env, person_id, source, token=""):
    identity = identity_find(env, source=source_parse(source), token=token)
    return account_link(env, person_id=person_id, identity=identity, verified_via=None, added_by="test", now=NOW)


def test_follows_across_servers_match_by_uri(env, engine, graph, mastodon, other_server, people):
    ids = people("ada", "bob", "carol")
    bob_uri = other_server.uri("bob")
    mastodon.add_account("carol")
    strangers = [mastodon.uri(f"x{n}") for n in range(200)]
    mastodon.add_account("ada", following=[bob_uri, mastodon.uri("carol"), *strangers])
    other_server.add_account("bob")
    link(env, ids["bob"], f"{other_server.base_url}/@bob")
    link(env, ids["carol"], f"{mastodon.base_url}/@carol")
    result = follows_import_source(env, person_id=ids["ada"], source=source_parse(f"{mastodon.base_url}/@ada"),
                                   now=NOW, added_by="test")
    assert (result.fetched, result.matched, result.added) == (202, 2, 2)
    assert result.handle == f"ada@{mastodon.domain}"
    assert follows(engine, ids["ada"]) == {(ids["bob"], "mastodon"), (ids["carol"], "mastodon")}
    assert graph.follows(ids["ada"]) == {ids["bob"], ids["carol"]}
    pages = [r for r in mastodon.requests if r.path.endswith("/following")]
    assert [r.query.get("max_id") for r in pages] == [None, "80", "160"] and pages[0].query["limit"] == "80"


def test_pleroma_without_lookup_or_uri(env, engine, people):
    ids = people("ada", "bob")
    with MastodonStandIn(pleroma=True) as pleroma:
        pleroma.add_account("bob")
        pleroma.add_account("ada", following=[pleroma.uri("bob")])
        link(env, ids["bob"], f"{pleroma.base_url}/@bob")
        result = follows_import_source(env, person_id=ids["ada"], source=source_parse(f"{pleroma.base_url}/@ada"),
                                       now=NOW, added_by="test")
        assert result.added == 1
        assert "/api/v1/accounts/ada" in pleroma.paths()  # the nickname in place of the id
        pleroma.accounts["ada"].hides_follows = True
        with pytest.raises(AccountUnusable, match="hides whom it follows"):
            follows_import(env, account_id=link(env, ids["ada"], f"{pleroma.base_url}/@ada").account_id, now=NOW)
    assert follows(engine, ids["ada"]) == {(ids["bob"], "mastodon")}


def test_an_unknown_account(env, mastodon):
    with pytest.raises(AccountNotFound, match=f"{mastodon.domain} has no account @nobody@{mastodon.domain}"):
        identity_find(env, source=source_parse(f"{mastodon.base_url}/@nobody"))


@pytest.mark.parametrize(("state", "message"), [
    ({"suspended": True}, "is suspended"),
    ({"moved_to": "ada@new.example"}, "has moved to @ada@new.example; use that account instead"),
])
def test_suspended_and_moved_accounts_keep_the_previous_follows(env, engine, mastodon, people, state, message):
    ids = people("ada", "bob")
    mastodon.add_account("bob")
    mastodon.add_account("ada", following=[mastodon.uri("bob")])
    link(env, ids["bob"], f"{mastodon.base_url}/@bob")
    account_id = link(env, ids["ada"], f"{mastodon.base_url}/@ada").account_id
    follows_import(env, account_id=account_id, now=NOW)
    for name, value in state.items():
        setattr(mastodon.accounts["ada"], name, value)
    with pytest.raises(AccountUnusable, match=message):
        follows_import(env, account_id=account_id, now=NOW)
    assert follows(engine, ids["ada"]) == {(ids["bob"], "mastodon")}
    assert listed(engine, account_id) == {mastodon.uri("bob")}
    assert message.split(";")[0] in account(engine, account_id)["fetch_error"]


def test_verify_credentials_with_a_token_and_a_revoked_token(env, engine, mastodon, people):
    ids = people("ada")
    mastodon.add_account("ada")
    token = mastodon.token_for("ada")
    linked = link(env, ids["ada"], f"{mastodon.base_url}/@ada", token=token)
    assert "/api/v1/accounts/verify_credentials" in mastodon.paths()
    mastodon.tokens.clear()
    with pytest.raises(TokenRefused, match="refused the token"):
        follows_import(env, account_id=linked.account_id, now=NOW, token=token)


def test_a_spent_rate_limit_budget_stops_before_the_wall(env, engine, mastodon, people, waits):
    ids = people("ada", "bob")
    mastodon.add_account("bob")
    mastodon.add_account("ada", following=[mastodon.uri("bob"), *[mastodon.uri(f"x{n}") for n in range(200)]])
    link(env, ids["bob"], f"{mastodon.base_url}/@bob")
    account_id = link(env, ids["ada"], f"{mastodon.base_url}/@ada").account_id
    mastodon.rate_remaining = 3  # lookup, page 1, then "X-RateLimit-Remaining: 0" until an ISO time 5 minutes on
    with pytest.raises(RateLimited, match=r"is rate limited until \d{4}-\d\d-\d\d \d\d:\d\d UTC; try again later"):
        follows_import(env, account_id=account_id, now=NOW)
    assert waits == [] and follows(engine, ids["ada"]) == set()
