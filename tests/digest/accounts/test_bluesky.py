"""Bluesky against the AppView stand-in: handle → DID, cursor pages, and handles that resolve to nothing."""

from __future__ import annotations

import pytest

from digest.accounts.errors import AccountNotFound, BadAnswer
from digest.accounts.imports import follows_import, follows_import_source
from digest.accounts.linking import account_link, identity_find
from digest.accounts.sources import source_parse
from tests.digest.accounts.conftest import NOW
from tests.digest.accounts.helpers import follows, listed
from tests.standins.bluesky import make_did


def link(env, person_id, source):
    identity = identity_find(env, source=source_parse(source))
    return account_link(env, person_id=person_id, identity=identity, verified_via=None, added_by="test", now=NOW)


def test_a_handle_resolves_to_its_did_and_the_follows_come_in_cursor_pages(env, engine, graph, bluesky, people):
    ids = people("ada", "bob")
    bob = bluesky.add_profile("bob.bsky.social")
    bluesky.add_profile("ada.bsky.social", follows=[bob.did, *[make_did() for _ in range(150)]])
    link(env, ids["bob"], f"bluesky:{bob.did}")  # by DID works as well as by handle
    result = follows_import_source(env, person_id=ids["ada"], source=source_parse("bluesky:@ada.bsky.social"),
                                   now=NOW, added_by="test")
    assert (result.fetched, result.matched, result.added, result.handle) == (151, 1, 1, "ada.bsky.social")
    assert follows(engine, ids["ada"]) == {(ids["bob"], "bluesky")}
    assert graph.follows(ids["ada"]) == {ids["bob"]}
    pages = [r.query for r in bluesky.requests if r.path.endswith("getFollows")]
    assert [(q["limit"], q.get("cursor")) for q in pages] == [("100", None), ("100", "100")]


def test_a_changed_handle_keeps_the_account(env, engine, bluesky, people):
    ids = people("ada")
    ada = bluesky.add_profile("ada.bsky.social")
    linked = link(env, ids["ada"], "bluesky:ada.bsky.social")
    ada.handle = "ada.example.com"
    assert follows_import(env, account_id=linked.account_id, now=NOW).handle == "ada.example.com"


def test_a_handle_that_resolves_to_nothing(env, bluesky):
    with pytest.raises(AccountNotFound, match="the Bluesky handle nobody.bsky.social resolves to nothing"):
        identity_find(env, source=source_parse("bluesky:nobody.bsky.social"))


def test_cursors_that_loop_change_nothing(env, engine, bluesky, people):
    ids = people("ada")
    bluesky.add_profile("ada.bsky.social", follows=[make_did() for _ in range(120)])
    linked = link(env, ids["ada"], "bluesky:ada.bsky.social")
    follows_import(env, account_id=linked.account_id, now=NOW)
    before = listed(engine, linked.account_id)
    bluesky.profiles[next(iter(bluesky.profiles))].follows = [make_did() for _ in range(350)]
    bluesky.faults.loop_page = 3
    with pytest.raises(BadAnswer, match="the pages loop"):
        follows_import(env, account_id=linked.account_id, now=NOW)
    assert listed(engine, linked.account_id) == before
