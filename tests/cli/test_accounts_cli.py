"""`lanyard follows import|refresh` and `lanyard accounts link` as a user runs them, against the stand-ins."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from digest.stores import db
from tests import factories
from tests.cli.test_cli import assert_one_clear_line, run
from tests.conftest import REDIS_URL, TEST_SECRET
from tests.standins.bluesky import BlueskyStandIn
from tests.standins.github import GitHubStandIn


@pytest.fixture
def github():
    with GitHubStandIn() as server:
        yield server


@pytest.fixture
def env(database_url, tmp_path, github):
    return {
        "LANYARD_DATA_DIR": str(tmp_path / "var"),
        "LANYARD_DATABASE_URL": database_url,
        "LANYARD_REDIS_URL": REDIS_URL,
        "LANYARD_REDIS_PREFIX": "cli:",
        "LANYARD_SECRET_KEYS": TEST_SECRET,
        "LANYARD_HTTP_ALLOW_NETWORKS": "127.0.0.2/32",
        "LANYARD_HTTP_DEADLINE": "5",
        "LANYARD_GITHUB_API_URL": github.base_url,
        "LANYARD_BASE_URL": "https://lanyard.example",
    }


@pytest.fixture
def people(engine):
    with engine.begin() as connection:
        return {h: factories.make_person(connection, handle=h, name=h.title()) for h in ("ada", "bob", "eve")}


def follow_rows(engine):
    with engine.connect() as connection:
        return set(connection.execute(select(db.follow.c.follower_id, db.follow.c.followee_id, db.follow.c.source)))


def test_import_prints_fetched_matched_and_changed(env, engine, github, people):
    bob = github.add_user("bob")
    github.add_user("ada", following=[bob.id, 77, 78])
    linked = run(["accounts", "link", "--person", "bob", "github:bob"], env)
    assert linked.returncode == 0, linked.stderr
    assert f"github:bob ({bob.id}) linked to @bob, unverified; 0 follows made" in linked.stdout
    result = run(["follows", "import", "--person", "ada", "github:ada"], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "github:ada: fetched 3, matched 1, changed 1 (+1 -0)"
    assert follow_rows(engine) == {(people["ada"], people["bob"], "github")}
    again = run(["follows", "refresh"], env)
    assert "unchanged since the last fetch (304)" in again.stdout and "refreshed 2 of 2 accounts" in again.stdout


def test_link_verified_needs_the_back_link(env, engine, github, people):
    github.add_user("ada")
    refused = run(["accounts", "link", "--person", "ada", "--verified", "github:ada"], env)
    assert_one_clear_line(refused, 1, "github:ada's website is not https://lanyard.example/people/ada/")
    github.users["ada"].blog = "https://lanyard.example/people/ada"
    proven = run(["accounts", "link", "--person", "ada", "--verified", "github:ada"], env)
    assert "verified (rel_me)" in proven.stdout, proven.stderr
    with engine.connect() as connection:
        assert connection.execute(select(db.account.c.verified_via)).scalar_one() == "rel_me"


def test_the_same_account_for_two_people_is_refused(env, engine, github, people):
    github.add_user("ada")
    assert run(["accounts", "link", "--person", "ada", "github:ada"], env).returncode == 0
    result = run(["follows", "import", "--person", "eve", "github:ada"], env)
    assert_one_clear_line(result, 1, "github:ada is linked to @ada already; an account belongs to one person")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("source", "fragment"), [
    ("twitter:ada", "not a source: 'twitter:ada'"),
    ("github:-ada-", "not a GitHub login"),
    ("mastodon:ada", "not a Mastodon account"),
    ("bluesky:not a handle", "not a Bluesky handle or DID"),
    ("https://mastodon.example/users", "not a Mastodon profile URL"),
])
def test_bad_sources_are_one_line_and_exit_2(env, people, source, fragment):
    result = run(["follows", "import", "--person", "ada", source], env)
    assert_one_clear_line(result, 2, fragment)


def test_an_unknown_person_or_account(env, github, people):
    assert_one_clear_line(run(["follows", "import", "--person", "nobody", "github:ada"], env), 2,
                          "no person has the handle 'nobody'")
    assert_one_clear_line(run(["follows", "import", "--person", "ada", "github:ghost"], env), 1,
                          "GitHub has no account 'ghost'")


def test_a_server_that_is_down_changes_nothing(env, engine, github, people):
    bob = github.add_user("bob")
    github.add_user("ada", following=[bob.id])
    for args in (["accounts", "link", "--person", "bob", "github:bob"],
                 ["follows", "import", "--person", "ada", "github:ada"]):
        assert run(args, env).returncode == 0
    before = follow_rows(engine)
    with BlueskyStandIn() as stopped:
        down = stopped.base_url
    result = run(["follows", "import", "--person", "ada", "github:ada"], {**env, "LANYARD_GITHUB_API_URL": down})
    assert_one_clear_line(result, 3, "did not answer: connection failed")
    github.faults.fail_page = 1
    refresh = run(["follows", "refresh", "--due"], env)
    assert refresh.returncode == 1 and "failed, nothing changed" in refresh.stderr
    assert "Traceback" not in refresh.stderr
    assert follow_rows(engine) == before
