"""Linking and unlinking accounts: one account, one person; the follows it makes in both directions."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from digest.accounts.errors import AccountTaken
from digest.accounts.imports import follows_import
from digest.accounts.linking import account_link, account_unlink, identity_find
from digest.accounts.sources import source_parse
from digest.stores import db
from digest.vocabulary import VerifiedVia
from tests import factories
from tests.digest.accounts.conftest import NOW
from tests.digest.accounts.helpers import account, follows


def link(env, person_id, source, verified_via=None):
    identity = identity_find(env, source=source_parse(source))
    return account_link(env, person_id=person_id, identity=identity, verified_via=verified_via, added_by="test",
                        now=NOW)


def test_the_same_account_linked_to_two_people_is_refused(env, engine, github, people):
    ids = people("ada", "eve")
    github.add_user("ada")
    first = link(env, ids["ada"], "github:ada")
    with pytest.raises(AccountTaken, match="github:ada is linked to @ada already; an account belongs to one person"):
        link(env, ids["eve"], "github:ada")
    assert account(engine, first.account_id)["person_id"] == ids["ada"]
    again = link(env, ids["ada"], "github:ada", VerifiedVia.OAUTH)  # the owner again: refreshed, now verified
    assert (again.account_id, again.created) == (first.account_id, False)
    stored = account(engine, first.account_id)
    assert (stored["verified"], stored["verified_via"]) == (True, "oauth")


def test_unlinking_removes_the_follows_it_made_both_ways_and_keeps_manual_ones(env, engine, graph, github, people):
    ids = people("ada", "bob")
    bob = github.add_user("bob")
    ada = github.add_user("ada", following=[bob.id])
    github.users["bob"].following = [ada.id]
    bob_account = link(env, ids["bob"], "github:bob").account_id
    ada_account = link(env, ids["ada"], "github:ada").account_id
    follows_import(env, account_id=ada_account, now=NOW)
    follows_import(env, account_id=bob_account, now=NOW)
    with engine.begin() as connection:
        factories.make_follow(connection, ids["bob"], ids["ada"], source="manual")
    assert follows(engine, ids["ada"]) == {(ids["bob"], "github")}
    change = account_unlink(env, account_id=ada_account, now=NOW)
    assert change.removed == 2
    assert follows(engine, ids["ada"]) == set()
    assert follows(engine, ids["bob"]) == {(ids["ada"], "manual")}
    assert graph.follows(ids["ada"]) == set()
    assert graph.follows(ids["bob"]) == {ids["ada"]}  # still followed on lanyard


def test_a_new_account_linked_verified(env, engine, github, people):
    ids = people("ada")
    github.add_user("ada")
    linked = link(env, ids["ada"], "github:ada", VerifiedVia.OAUTH)
    stored = account(engine, linked.account_id)
    assert (stored["verified"], stored["verified_via"], stored["verified_at"] is not None) == (True, "oauth", True)


def test_linking_refreshing_and_unlinking_touch_the_persons_page(env, engine, github, people):
    """The site keeps a person's linked accounts under their cache_version: every write of
    an account row bumps it (SQLAlchemy fires none of the site's cascades)."""
    def version() -> int:
        with engine.connect() as connection:
            ada = db.person.c.id == ids["ada"]
            return connection.execute(select(db.person.c.cache_version).where(ada)).scalar_one()

    ids = people("ada", "bob")
    github.add_user("ada")
    seen = [version()]
    linked = link(env, ids["ada"], "github:ada")
    seen.append(version())
    link(env, ids["ada"], "github:ada", VerifiedVia.OAUTH)  # verified now: shown on the page
    seen.append(version())
    follows_import(env, account_id=linked.account_id, now=NOW)  # handle and profile link refreshed
    seen.append(version())
    account_unlink(env, account_id=linked.account_id, now=NOW)
    seen.append(version())
    assert seen == sorted(set(seen))  # each step bumped it
    assert len(seen) == 5
