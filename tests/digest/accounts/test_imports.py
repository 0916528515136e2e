"""Importing follow lists against the stand-ins: matching by stable id, paging, refresh, and bad answers.

Every bad answer ends in one clear error and the previous follows intact.
"""

from __future__ import annotations

import pytest
from sqlalchemy import insert

from digest.accounts.errors import AccountNotFound, BadAnswer, ProviderUnavailable, RateLimited, TokenRefused
from digest.accounts.imports import follows_import, follows_import_source, follows_refresh_due
from digest.accounts.linking import account_link, identity_find
from digest.accounts.sources import source_parse
from digest.graph.store import follow_added
from digest.stores import db
from tests import factories
from tests.digest.accounts.conftest import NOW
from tests.digest.accounts.helpers import account, follows, listed

STRANGERS = list(range(5001, 5004))


def link(env, person_id, source):
    identity = identity_find(env, source=source_parse(source))
    return account_link(env, person_id=person_id, identity=identity, verified_via=None, added_by="test",
                        now=NOW).account_id


@pytest.fixture
def ada_on_github(env, github, people):
    """ada follows bob and carol (both lanyard people) and three strangers on GitHub; bob is linked."""
    ids = people("ada", "bob", "carol")
    bob, carol = github.add_user("bob"), github.add_user("carol")
    github.add_user("ada", following=[bob.id, carol.id, *STRANGERS])
    link(env, ids["bob"], "github:bob")
    return ids, link(env, ids["ada"], "github:ada")


def test_import_matches_by_stable_id_and_keeps_the_whole_list(env, engine, graph, github, ada_on_github):
    ids, account_id = ada_on_github
    result = follows_import(env, account_id=account_id, now=NOW)
    assert (result.fetched, result.matched, result.added, result.removed) == (5, 1, 1, 0)
    assert follows(engine, ids["ada"]) == {(ids["bob"], "github")}
    assert graph.follows(ids["ada"]) == {ids["bob"]}
    assert len(listed(engine, account_id)) == 5  # strangers too, by id only
    # The day carol links her account, ada's stored list makes the follow: no refetch.
    link(env, ids["carol"], "github:carol")
    assert follows(engine, ids["ada"]) == {(ids["bob"], "github"), (ids["carol"], "github")}
    assert graph.follows(ids["ada"]) == {ids["bob"], ids["carol"]}


def test_a_renamed_login_is_still_the_same_account(env, engine, github, ada_on_github):
    ids, account_id = ada_on_github
    user = github.users.pop("ada")
    user.login = "ada-lovelace"
    github.users["ada-lovelace"] = user
    follows_import(env, account_id=account_id, now=NOW)
    assert account(engine, account_id)["handle"] == "ada-lovelace"
    assert follows(engine, ids["ada"]) == {(ids["bob"], "github")}


def test_pages_of_a_hundred_through_link_headers(env, engine, github, people):
    ids = people("ada")
    github.add_user("ada", following=list(range(1, 251)))
    result = follows_import_source(env, person_id=ids["ada"], source=source_parse("github:ada"), now=NOW,
                                   added_by="test")
    assert result.fetched == 250 and not result.capped
    pages = [r for r in github.requests if r.path == "/users/ada/following"]
    assert [(r.query["per_page"], r.query.get("page", "1")) for r in pages] == [("100", "1"), ("100", "2"),
                                                                               ("100", "3")]


def test_refresh_with_the_etag_is_unchanged_on_304(env, engine, github, ada_on_github):
    ids, account_id = ada_on_github
    follows_import(env, account_id=account_id, now=NOW)
    etag = account(engine, account_id)["fetch_etag"]
    assert etag.startswith('W/"')
    result = follows_import(env, account_id=account_id, now=NOW)
    assert result.unchanged and result.changed == 0
    assert github.requests[-1].headers["if-none-match"] == etag
    assert follows(engine, ids["ada"]) == {(ids["bob"], "github")}


def test_refresh_replaces_the_source_and_never_touches_manual_follows(env, engine, graph, github, ada_on_github):
    ids, account_id = ada_on_github
    with engine.begin() as connection:
        factories.make_follow(connection, ids["ada"], ids["bob"], source="manual")
    graph.apply(follow_added(ids["ada"], ids["bob"]))  # as the site's signal does after commit
    carol = github.users["carol"]
    link(env, ids["carol"], "github:carol")
    follows_import(env, account_id=account_id, now=NOW)
    assert follows(engine, ids["ada"]) == {(ids["bob"], "manual"), (ids["bob"], "github"), (ids["carol"], "github")}
    github.users["ada"].following = [carol.id]  # ada unfollowed bob on GitHub...
    result = follows_import(env, account_id=account_id, now=NOW)
    assert (result.added, result.removed) == (0, 1)
    assert follows(engine, ids["ada"]) == {(ids["bob"], "manual"), (ids["carol"], "github")}
    assert graph.follows(ids["ada"]) == {ids["bob"], ids["carol"]}  # ...but follows him on lanyard
    github.users["ada"].following = []
    follows_import(env, account_id=account_id, now=NOW)
    assert graph.follows(ids["ada"]) == {ids["bob"]}  # carol had no other source: gone


FAULTS = {
    "pages that loop": ({"loop_page": 2}, BadAnswer, "the pages loop"),
    "a 500 on page 3": ({"fail_page": 3}, ProviderUnavailable, r"\(page 3\) answered 500"),
    "a timeout": ({"hang_page": 2}, ProviderUnavailable, r"\(page 2\) did not answer: timed out"),
    "malformed JSON": ({"malformed_page": 2}, BadAnswer, r"\(page 2\) answered something that is not JSON"),
    "a long 429": ({"retry_after": 3600}, RateLimited, "is rate limited until .* UTC; try again later"),
}


@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
def test_a_bad_answer_on_any_page_changes_nothing(env, engine, graph, github, ada_on_github, fault):
    ids, account_id = ada_on_github
    follows_import(env, account_id=account_id, now=NOW)
    before = (follows(engine, ids["ada"]), listed(engine, account_id), graph.follows(ids["ada"]))
    github.users["ada"].following = [github.users["carol"].id, *range(1, 400)]  # changed, 4 pages
    settings, error, message = FAULTS[fault]
    for name, value in settings.items():
        setattr(github.faults, name, value)
    with pytest.raises(error, match=message):
        follows_import(env, account_id=account_id, now=NOW)
    assert (follows(engine, ids["ada"]), listed(engine, account_id), graph.follows(ids["ada"])) == before
    assert account(engine, account_id)["fetch_error"]  # the person is shown why


def test_a_short_429_is_waited_out(env, engine, github, ada_on_github, waits):
    ids, account_id = ada_on_github
    github.faults.retry_after = 2
    result = follows_import(env, account_id=account_id, now=NOW)
    assert waits == [2.0] and result.added == 1


def test_an_unknown_account(env, github, people):
    with pytest.raises(AccountNotFound, match="GitHub has no account 'nobody'"):
        identity_find(env, source=source_parse("github:nobody"))


def test_a_list_of_fifty_thousand_is_capped(env, engine, github, people):
    ids = people("ada")
    github.add_user("ada", following=range(1, 50_001))
    result = follows_import_source(env, person_id=ids["ada"], source=source_parse("github:ada"), now=NOW,
                                   added_by="test")
    assert (result.fetched, result.capped) == (20_000, True)
    assert len([r for r in github.requests if r.path == "/users/ada/following"]) == 200  # not one page more
    stored = account(engine, result_account(engine))
    assert (stored["following_count"], stored["following_capped"]) == (20_000, True)


def result_account(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(db.account.select()).first().id


def test_a_revoked_token_changes_nothing(env, engine, github, ada_on_github):
    ids, account_id = ada_on_github
    token = github.token_for("ada")
    follows_import(env, account_id=account_id, now=NOW, token=token)
    assert github.requests[-1].path == "/user/following"
    github.tokens.clear()  # revoked on GitHub's side
    with pytest.raises(TokenRefused, match=r"refused the token \(401\): it was revoked or expired; connect again"):
        follows_import(env, account_id=account_id, now=NOW, token=token)
    assert follows(engine, ids["ada"]) == {(ids["bob"], "github")}


def test_refresh_due_takes_never_fetched_and_old_lists_first(env, engine, people):
    ids = people("ada", "bob", "carol")
    with engine.begin() as connection:
        old = factories.make_account(connection, ids["ada"], "github", "1", fetched_at=NOW.replace(day=3))
        new = factories.make_account(connection, ids["bob"], "github", "2", fetched_at=NOW.replace(hour=11))
        never = factories.make_account(connection, ids["carol"], "github", "3")
        connection.execute(insert(db.live_setting).values(name="follows_refresh_hours", value="12", updated_at=NOW,
                                                          updated_by="test"))
    assert follows_refresh_due(env, now=NOW) == [never, old]
    assert new not in follows_refresh_due(env, now=NOW)


def test_every_request_passes_the_throttle_first(engine, http, graph, github, bluesky, ada_on_github):
    from digest.accounts.env import AccountsEnv
    from digest.accounts.errors import ProviderUnavailable as Stop

    ids, account_id = ada_on_github
    asked: list[str] = []

    def budget(provider):
        asked.append(provider)
        if len(asked) > 1:
            raise Stop(f"the {provider} budget is spent for this hour")

    env = AccountsEnv(engine=engine, http=http, graph=graph, base_url="https://lanyard.example",
                      github_api_url=github.base_url, throttle=budget)
    sent = len(github.requests)
    with pytest.raises(Stop, match="the github budget is spent"):
        follows_import(env, account_id=account_id, now=NOW)
    assert asked == ["github"] * 2 and len(github.requests) - sent == 1  # the list page was never asked for
    assert follows(engine, ids["ada"]) == set()
