"""The follows tasks on real Celery workers against the GitHub and Mastodon stand-ins on 127.0.0.2.

An import lands follows with their source (database and Redis graph); the beat task's
refresh sends the imports of lists grown old, which ask with the ETag and keep the list
on a 304; a provider that is down or a revoked token leaves a one-line error on the
account and every follow as it was; a 429 with Retry-After is waited out.
"""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest
from sqlalchemy import update

from digest.accounts.env import AccountsEnv
from digest.accounts.linking import account_link, identity_find
from digest.accounts.sources import source_parse
from digest.graph.store import Graph
from digest.http import HttpClient, HttpConfig
from digest.sealed import Sealer
from digest.stores import db
from digest.stores.keys import RedisKeys
from digest.vocabulary import TaskName, VerifiedVia
from scheduler.app import ROUTES
from tests import factories
from tests.conftest import TEST_SECRET
from tests.digest.accounts.helpers import account, follows, listed
from tests.scheduler.conftest import wait_until
from tests.standins.github import GitHubStandIn
from tests.standins.mastodon import MastodonStandIn

STRANGERS = [7001, 7002, 7003]
LONG_AGO = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def github():
    with GitHubStandIn() as server:
        yield server


@pytest.fixture
def mastodon():
    with MastodonStandIn() as server:
        yield server


@pytest.fixture
def worker_env(worker_env, github):
    return {**worker_env, "LANYARD_HTTP_ALLOW_NETWORKS": "127.0.0.2/32", "LANYARD_HTTP_DEADLINE": "3",
            "LANYARD_GITHUB_API_URL": github.base_url}


@pytest.fixture
def graph(redis_client, prefix):
    """The workers' graph (under the test's prefix), with a live generation to write to."""
    keys = RedisKeys(prefix)
    redis_client.mset({keys.graph_live: 1, keys.graph(1).built: 1})
    return Graph(redis_client, prefix)


@pytest.fixture
def env(engine, graph, github):
    http = HttpClient(HttpConfig(allow_networks=(ipaddress.ip_network("127.0.0.2/32"),), deadline=3.0))
    yield AccountsEnv(engine=engine, http=http, graph=graph, base_url="https://lanyard.example",
                      github_api_url=github.base_url)
    http.close()


def person(engine, handle: str) -> int:
    with engine.begin() as connection:
        return factories.make_person(connection, handle=handle, name=handle.title())


def link(env, person_id: int, source: str) -> int:
    identity = identity_find(env, source=source_parse(source))
    return account_link(env, person_id=person_id, identity=identity, verified_via=VerifiedVia.OAUTH,
                        added_by="test", now=dt.datetime.now(dt.UTC)).account_id


@pytest.fixture
def ada(env, engine, github):
    """ada follows bob (a lanyard person with his GitHub linked) and three strangers on GitHub."""
    ids = {h: person(engine, h) for h in ("ada", "bob")}
    bob = github.add_user("bob")
    github.add_user("ada", following=[bob.id, *STRANGERS])
    link(env, ids["bob"], "github:bob")
    return ids, link(env, ids["ada"], "github:ada")


def send_import(celery_app, account_id: int) -> None:
    celery_app.send_task(TaskName.FOLLOWS_IMPORT, kwargs={"account_id": account_id})


def imported(engine, account_id: int, *, after: dt.datetime | None = None):
    row = account(engine, account_id)
    return row["fetched_at"] is not None and (after is None or _aware(row["fetched_at"]) > after)


def failed(engine, account_id: int):
    return account(engine, account_id)["fetch_error"]


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def following_requests(server, path: str) -> list:
    return [r for r in server.requests if r.path == path]


def test_the_follows_tasks_are_the_apps(celery_app):
    assert TaskName.FOLLOWS_IMPORT in celery_app.tasks and TaskName.FOLLOWS_REFRESH_DUE in celery_app.tasks
    assert any(entry["task"] == TaskName.FOLLOWS_REFRESH_DUE for entry in celery_app.conf.beat_schedule.values())
    assert TaskName.FOLLOWS_IMPORT in ROUTES


@pytest.mark.slow
def test_an_import_on_a_worker_lands_the_follows_with_their_source(
    engine, graph, redis_client, prefix, workers, celery_app, ada
):
    ids, account_id = ada
    redis_client.set(RedisKeys(prefix).follows_importing(account_id), "1")  # as the site marks it
    workers.start(concurrency=1)
    send_import(celery_app, account_id)
    wait_until(lambda: imported(engine, account_id), timeout=120, message="the import")
    assert follows(engine, ids["ada"]) == {(ids["bob"], "github")}
    assert len(listed(engine, account_id)) == 4  # the strangers too, by id only
    row = account(engine, account_id)
    assert (row["following_count"], row["fetch_error"]) == (4, "")
    assert graph.follows(ids["ada"]) == {ids["bob"]}  # the Redis graph follows the commit
    wait_until(lambda: not redis_client.exists(RedisKeys(prefix).follows_importing(account_id)),
               timeout=30, message="the importing mark cleared")


@pytest.mark.slow
def test_the_refresh_task_sends_old_lists_again_and_a_304_keeps_the_list(
    engine, workers, celery_app, github, ada
):
    ids, account_id = ada
    workers.start(concurrency=1)
    send_import(celery_app, account_id)
    wait_until(lambda: imported(engine, account_id), timeout=120, message="the first import")
    etag = account(engine, account_id)["fetch_etag"]
    assert etag.startswith('W/"')
    a = db.account
    with engine.begin() as connection:  # ada's list grew old; bob's (never fetched) is not due today
        connection.execute(update(a).where(a.c.id == account_id).values(fetched_at=LONG_AGO))
        connection.execute(update(a).where(a.c.id != account_id).values(fetched_at=dt.datetime.now(dt.UTC)))
    celery_app.send_task(TaskName.FOLLOWS_REFRESH_DUE)
    wait_until(lambda: imported(engine, account_id, after=LONG_AGO), timeout=120, message="the refresh")
    asked = following_requests(github, "/users/ada/following")
    assert [r.headers.get("if-none-match", "") for r in asked] == ["", etag]  # asked with the ETag: 304
    assert account(engine, account_id)["fetch_etag"] == etag
    assert follows(engine, ids["ada"]) == {(ids["bob"], "github")} and len(listed(engine, account_id)) == 4


@pytest.mark.slow
def test_a_provider_that_is_down_records_one_line_and_loses_no_follow(engine, workers, celery_app, github, ada):
    ids, account_id = ada
    workers.start(concurrency=1)
    send_import(celery_app, account_id)
    wait_until(lambda: imported(engine, account_id), timeout=120, message="the first import")
    github.faults.fail_page = 1
    github.faults.fail_status = 502
    send_import(celery_app, account_id)
    error = wait_until(lambda: failed(engine, account_id), timeout=120, message="the failure recorded")
    assert error == f"{github.base_url.partition('://')[2]} (page 1) answered 502"
    assert follows(engine, ids["ada"]) == {(ids["bob"], "github")} and len(listed(engine, account_id)) == 4
    # Stopped altogether: the worker's retry says so in one line too, and still nothing is lost.
    with engine.begin() as connection:
        connection.execute(update(db.account).where(db.account.c.id == account_id).values(fetch_error=""))
    github.stop()
    send_import(celery_app, account_id)
    error = wait_until(lambda: failed(engine, account_id), timeout=120, message="the failure recorded")
    assert "did not answer" in error and "\n" not in error, error
    assert follows(engine, ids["ada"]) == {(ids["bob"], "github")} and len(listed(engine, account_id)) == 4


@pytest.mark.slow
def test_a_429_with_retry_after_is_waited_out(engine, workers, celery_app, github, ada):
    ids, account_id = ada
    github.faults.retry_after = 1
    workers.start(concurrency=1)
    send_import(celery_app, account_id)
    wait_until(lambda: imported(engine, account_id), timeout=120, message="the import after the wait")
    assert follows(engine, ids["ada"]) == {(ids["bob"], "github")}
    assert account(engine, account_id)["fetch_error"] == ""
    pages = following_requests(github, "/users/ada/following")
    assert [r.query.get("page", "1") for r in pages] == ["1", "1"]  # the 429, then the page after the wait


@pytest.mark.slow
def test_a_token_revoked_on_the_server_records_one_line_and_loses_no_follow(
    env, engine, workers, celery_app, mastodon
):
    ids = {h: person(engine, h) for h in ("ada", "bob")}
    mastodon.add_account("bob")
    mastodon.add_account("ada", following=[mastodon.uri("bob")])
    link(env, ids["bob"], f"{mastodon.base_url}/@bob")
    account_id = link(env, ids["ada"], f"{mastodon.base_url}/@ada")
    token = mastodon.token_for("ada")
    seal = Sealer((TEST_SECRET,))
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as connection:
        server_id = connection.execute(db.mastodon_server.insert().values(
            origin=mastodon.base_url, client_id="app", client_secret_sealed=seal.seal("secret"),
            redirect_uri="http://testserver/accounts/mastodon/callback/", scopes="read:accounts read:follows",
            created_at=now)).inserted_primary_key[0]
        connection.execute(db.account_token.insert().values(
            account_id=account_id, token_sealed=seal.seal(token), scopes="read:accounts read:follows",
            server_id=server_id, created_at=now))
    workers.start(concurrency=1)
    send_import(celery_app, account_id)
    wait_until(lambda: imported(engine, account_id), timeout=120, message="the import with the token")
    assert follows(engine, ids["ada"]) == {(ids["bob"], "mastodon")}
    assert any(r.path == "/api/v1/accounts/verify_credentials" and r.bearer() == token for r in mastodon.requests)

    mastodon.tokens.pop(token)  # revoked on the server's side
    send_import(celery_app, account_id)
    error = wait_until(lambda: failed(engine, account_id), timeout=120, message="the refusal recorded")
    assert error == (f"{mastodon.domain} (@ada@{mastodon.domain}) refused the token (401): it was revoked or "
                     "expired; connect again")
    assert follows(engine, ids["ada"]) == {(ids["bob"], "mastodon")} and listed(engine, account_id)
