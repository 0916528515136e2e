"""The unsubscribe endpoint over real HTTP: a server on loopback, an HTTP client, the
test database (SQLite and PostgreSQL) and the test Redis."""

from __future__ import annotations

import re
import threading
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import event, select

from digest.stores import db
from digest.stores.keys import RedisKeys
from digest.subscriptions import SubscriptionNotFound
from digest.tokens import SubscriptionRef, TokenSigner
from digest.unsubscribe_queue import unsubscribe_queue_length, unsubscribe_replay
from tests.conftest import TEST_SECRET, django_migrate
from tests.faults.servers import PostgresCluster
from unsubscribe_web.app import UnsubscribeApp, create_app

from .conftest import NOW, running, wait_applied
from .token_corpus import mutated_tokens

# Every test here runs on the development server (WSGI) and on production's ASGI protocol.
pytestmark = pytest.mark.usefixtures("server")

KEYS = RedisKeys("lanyard:")
ONE_CLICK = {"List-Unsubscribe": "One-Click"}
SECURITY_HEADERS = {
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


def status_of(engine, ref: SubscriptionRef) -> str:
    with engine.connect() as connection:
        return connection.execute(
            select(db.subscription.c.status).where(db.subscription.c.id == ref.subscription_id)
        ).scalar_one()


def audit_rows(engine, ref: SubscriptionRef | None = None) -> list[tuple[str, str]]:
    e = db.unsubscribe_event.c
    query = select(e.action, e.via).order_by(e.id)
    if ref is not None:
        query = query.where(e.subscription_id == ref.subscription_id)
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query)]


def suppressed(redis_client) -> set[int]:
    return {int(member) for member in redis_client.smembers(KEYS.unsubscribe_suppressed)}


def assert_secure(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "script-src" not in policy and "unsafe-inline" not in policy
    assert "set-cookie" not in response.headers
    assert "<script" not in response.text and "<img" not in response.text
    assert "Traceback" not in response.text


def resubscribe_action(page: str) -> str:
    match = re.search(r'<form method="post" action="\.\./r/([^"]+)">', page)
    assert match, "the page offers no resubscribe button"
    return match.group(1)


def test_get_asks_and_changes_nothing(endpoint, engine, redis_client, signer, make_subscription):
    ref = make_subscription(email="ada.lovelace@example.com")
    response = endpoint.get(f"/u/{signer.sign('unsubscribe', ref)}")
    assert response.status_code == 200
    assert_secure(response)
    assert "daily digest" in response.text
    assert "a•••e@example.com" in response.text and "ada.lovelace" not in response.text
    assert '<form method="post"><button type="submit">Unsubscribe</button></form>' in response.text
    assert 'href="http://localhost:8000/subscriptions/"' in response.text
    assert status_of(engine, ref) == "active"
    assert audit_rows(engine) == []
    assert suppressed(redis_client) == set()


def test_head_answers_like_get_without_a_body(endpoint, engine, signer, make_subscription):
    ref = make_subscription()
    url = f"/u/{signer.sign('unsubscribe', ref)}"
    get, head = endpoint.get(url), endpoint.head(url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]
    assert_secure(head)
    assert status_of(engine, ref) == "active"


@pytest.mark.parametrize("form", ["urlencoded", "multipart"])
def test_one_click_post_unsubscribes(endpoint, engine, redis_client, signer, make_subscription, form):
    ref = make_subscription()
    url = f"/u/{signer.sign('unsubscribe', ref)}"
    if form == "urlencoded":
        response = endpoint.post(url, data=ONE_CLICK)
    else:
        response = endpoint.post(url, files={"List-Unsubscribe": (None, "One-Click")})
        assert response.request.headers["content-type"].startswith("multipart/form-data")
    assert response.status_code == 200 and not response.history
    assert_secure(response)
    assert "You are unsubscribed" in response.text
    assert suppressed(redis_client) == {ref.subscription_id}  # a running batch skips it from the answer on
    wait_applied(redis_client)
    assert status_of(engine, ref) == "unsubscribed"
    assert audit_rows(engine) == [("unsubscribe", "one_click")]
    assert signer.verify("resubscribe", resubscribe_action(response.text)) == ref


def test_the_button_unsubscribes_via_link_and_twice_is_once(endpoint, engine, redis_client, signer, make_subscription):
    ref, other = make_subscription(), make_subscription()
    url = f"/u/{signer.sign('unsubscribe', ref)}"
    first = endpoint.post(url)  # the page's own form: no body
    second = endpoint.post(url, data=ONE_CLICK)
    assert first.status_code == second.status_code == 200
    assert "You are unsubscribed" in second.text
    wait_applied(redis_client)
    assert audit_rows(engine) == [("unsubscribe", "link")]
    assert status_of(engine, ref) == "unsubscribed" and status_of(engine, other) == "active"
    assert suppressed(redis_client) == {ref.subscription_id}
    page = endpoint.get(url)
    assert "no longer gets" in page.text
    assert signer.verify("resubscribe", resubscribe_action(page.text)) == ref


def test_resubscribe_undoes_and_get_does_not(endpoint, engine, redis_client, signer, make_subscription):
    ref = make_subscription()
    done = endpoint.post(f"/u/{signer.sign('unsubscribe', ref)}", data=ONE_CLICK)
    resubscribe_url = f"/r/{resubscribe_action(done.text)}"
    wait_applied(redis_client)
    asked = endpoint.get(resubscribe_url)
    assert asked.status_code == 200 and "Resubscribe to the daily digest?" in asked.text
    assert_secure(asked)
    assert status_of(engine, ref) == "unsubscribed"
    response = endpoint.post(resubscribe_url)
    assert response.status_code == 200 and "subscribed again" in response.text
    assert_secure(response)
    assert suppressed(redis_client) == set()
    wait_applied(redis_client)
    assert status_of(engine, ref) == "active"
    assert audit_rows(engine) == [("unsubscribe", "one_click"), ("resubscribe", "link")]
    assert suppressed(redis_client) == set()
    # The page offers to unsubscribe again, with a genuine unsubscribe token.
    token = re.search(r'action="\.\./u/([^"]+)"', response.text).group(1)
    assert signer.verify("unsubscribe", token) == ref
    assert endpoint.post(resubscribe_url).status_code == 200  # idempotent too
    wait_applied(redis_client)
    assert len(audit_rows(engine)) == 2


def test_a_resubscribe_right_after_an_unsubscribe_still_queued_wins(
    settings, engine, redis_client, signer, make_subscription
):
    """Both go through the one queue, in the order they came: the unsubscribe not yet
    applied cannot undo the resubscribe that followed it."""
    ref = make_subscription()
    app = create_app(settings, engine=engine, redis=redis_client)
    app.applier.close()  # nothing applied until this test says so
    with running(app) as url:
        done = httpx.post(f"{url}/u/{signer.sign('unsubscribe', ref)}", data=ONE_CLICK)
        again = httpx.post(f"{url}/r/{resubscribe_action(done.text)}")
    assert again.status_code == 200 and "subscribed again" in again.text
    assert suppressed(redis_client) == set()
    assert status_of(engine, ref) == "active" and unsubscribe_queue_length(redis_client, prefix="lanyard:") == 2
    assert unsubscribe_replay(engine, redis_client, prefix="lanyard:") == 2
    assert status_of(engine, ref) == "active"
    assert audit_rows(engine) == [("unsubscribe", "one_click"), ("resubscribe", "link")]


def test_broken_links_get_400_and_change_nothing(endpoint, engine, redis_client, signer, make_subscription):
    ref = make_subscription()
    for path in (
        f"/u/{signer.sign('resubscribe', ref)}",  # the other purpose
        f"/r/{signer.sign('unsubscribe', ref)}",
        f"/u/{signer.sign('unsubscribe', ref)[:-3]}",  # cut off in the email
        f"/u/{signer.sign('unsubscribe', ref)}extra",
        "/u/", "/r/", "/u/not-a-token",
        f"/u/{signer._serializers['unsubscribe'].dumps([2**63, 'daily'])}",  # beyond any bigint id
    ):
        for method in ("GET", "POST"):
            response = endpoint.request(method, path, data=ONE_CLICK if method == "POST" else None)
            assert response.status_code == 400, (method, path)
            assert_secure(response)
            assert "This link is broken" in response.text
            assert "http://localhost:8000/subscriptions/" in response.text
    assert status_of(engine, ref) == "active"
    assert audit_rows(engine) == []
    assert suppressed(redis_client) == set()
    assert unsubscribe_queue_length(redis_client, prefix="lanyard:") == 0


def test_a_genuine_link_to_a_deleted_subscription(endpoint, engine, redis_client, signer, make_subscription, caplog):
    """The page asks nothing of a subscription that is gone; an unsubscribe from it is
    said to be done (nothing can be mailed to it) and the applier drops it with a line."""
    gone = SubscriptionRef(make_subscription().subscription_id + 1000, "daily")
    url = f"/u/{signer.sign('unsubscribe', gone)}"
    assert endpoint.get(url).status_code == 400
    response = endpoint.post(url, data=ONE_CLICK)
    assert response.status_code == 200 and "You are unsubscribed" in response.text
    wait_applied(redis_client)
    assert audit_rows(engine) == []
    assert f"dropped the unsubscribe of subscription {gone.subscription_id}" in caplog.text


def test_a_thousand_mutated_tokens_are_all_refused(endpoint, engine, redis_client, signer, make_subscription):
    refs = [make_subscription(list_name=("daily", "weekly")[n % 2]) for n in range(6)]
    corpus = mutated_tokens(signer, refs)
    assert len(corpus) >= 1000
    statuses: dict[int, int] = {}
    for token, kind in corpus.items():
        # Percent-encoded, as a browser sends what it cannot put in a path as it is.
        response = endpoint.post("/u/" + quote(token, safe=""), data=ONE_CLICK)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        # 400 for a broken token; 404 where the client resolved a dot segment ("/u/..")
        # into another path, 414 for the huge ones. Never a success.
        assert response.status_code in (400, 404, 414), (kind, token, response.status_code)
    assert statuses[400] >= len(corpus) * 0.95
    assert audit_rows(engine) == []
    assert {status_of(engine, ref) for ref in refs} == {"active"}
    assert suppressed(redis_client) == set()
    assert unsubscribe_queue_length(redis_client, prefix="lanyard:") == 0


def test_keys_rotate(make_settings, database_url, engine, redis_client, make_subscription):
    old_key, new_key = "old-key-" + "o" * 40, "new-key-" + "n" * 40
    ref, other = make_subscription(), make_subscription()
    old_token = TokenSigner([old_key]).sign("unsubscribe", ref)
    rotated = make_settings(database_url=database_url, secret_keys=f"{new_key},{old_key}")
    with running(create_app(rotated, engine=engine, redis=redis_client)) as url:
        assert httpx.post(f"{url}/u/{old_token}", data=ONE_CLICK).status_code == 200
        new_token = TokenSigner(rotated.secret_keys).sign("unsubscribe", other)
        assert new_token != TokenSigner([old_key]).sign("unsubscribe", other)
        assert httpx.post(f"{url}/u/{new_token}", data=ONE_CLICK).status_code == 200
        wait_applied(redis_client)
    assert status_of(engine, ref) == status_of(engine, other) == "unsubscribed"
    # Once the old key is dropped, its links stop working.
    retired = make_settings(database_url=database_url, secret_keys=new_key)
    third = make_subscription()
    with running(create_app(retired, engine=engine, redis=redis_client)) as url:
        response = httpx.post(f"{url}/u/{TokenSigner([old_key]).sign('unsubscribe', third)}", data=ONE_CLICK)
        assert response.status_code == 400
    assert status_of(engine, third) == "active"


def test_simultaneous_posts_for_one_token_write_one_audit_row(
    endpoint, engine, redis_client, signer, make_subscription
):
    ref = make_subscription()
    url = str(endpoint.base_url) + f"/u/{signer.sign('unsubscribe', ref)}"
    start = threading.Barrier(24)
    statuses: list[int] = []

    def post():
        with httpx.Client(timeout=60) as client:
            start.wait()
            statuses.append(client.post(url, data=ONE_CLICK).status_code)

    threads = [threading.Thread(target=post) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 24
    wait_applied(redis_client)
    assert audit_rows(engine) == [("unsubscribe", "one_click")]
    assert status_of(engine, ref) == "unsubscribed"
    assert suppressed(redis_client) == {ref.subscription_id}


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_get_405_with_allow(endpoint, engine, signer, make_subscription, method):
    ref = make_subscription()
    response = endpoint.request(method, f"/u/{signer.sign('unsubscribe', ref)}")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"
    assert_secure(response)
    assert status_of(engine, ref) == "active"


@pytest.mark.parametrize("path", ["/", "/favicon.ico", "/unsubscribe", "/u", "/x/abc.def", "/U/abc.def"])
def test_unknown_paths_get_404(endpoint, path):
    for method in ("GET", "POST"):
        response = endpoint.request(method, path)
        assert response.status_code == 404
        assert_secure(response)


def test_oversized_bodies_and_paths(endpoint, engine, signer, make_subscription):
    ref = make_subscription()
    url = f"/u/{signer.sign('unsubscribe', ref)}"
    too_large = endpoint.post(url, content=b"List-Unsubscribe=One-Click&" + b"x" * 20_000,
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert too_large.status_code == 413
    assert_secure(too_large)
    too_long = endpoint.get(url + "A" * 3000)
    assert too_long.status_code == 414
    assert_secure(too_long)
    assert endpoint.get("/u/x?" + "q" * 3000).status_code == 414
    assert status_of(engine, ref) == "active"
    assert audit_rows(engine) == []


def test_an_unexpected_error_is_a_plain_500(settings, engine, redis_client, signer, make_subscription, caplog):
    class Faulty(UnsubscribeApp):
        def confirm(self, ref, purpose):
            raise RuntimeError("internal detail /srv/secret/path")

    ref = make_subscription()
    with running(Faulty(settings, engine=engine, redis=redis_client)) as url:
        response = httpx.get(f"{url}/u/{signer.sign('unsubscribe', ref)}")
    assert response.status_code == 500
    assert_secure(response)
    assert "internal detail" not in response.text and "RuntimeError" not in response.text
    assert "internal detail" in caplog.text  # logged for the operators


def test_an_unexpected_error_in_a_group_write_is_a_500_never_a_done(
    settings, engine, redis_client, signer, make_subscription, caplog
):
    class Faulty(UnsubscribeApp):
        def unsubscribes_asked(self, asks):  # the first step of the group write, on either server
            raise RuntimeError("internal detail of the group write")

    ref = make_subscription()
    with running(Faulty(settings, engine=engine, redis=redis_client)) as url:
        response = httpx.post(f"{url}/u/{signer.sign('unsubscribe', ref)}", data=ONE_CLICK)
    assert response.status_code == 500
    assert "unsubscribed" not in response.text.lower() and "internal detail" not in response.text
    assert "internal detail of the group write" in caplog.text
    assert status_of(engine, ref) == "active" and audit_rows(engine) == []
    assert unsubscribe_queue_length(redis_client, prefix="lanyard:") == 0


def dead_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_database_down_queues_then_replay_applies(
    make_settings, database_url, engine, redis_client, signer, make_subscription
):
    ref, other = make_subscription(), make_subscription()
    down = make_settings(database_url=f"postgresql://postgres@127.0.0.1:{dead_port()}/lanyard")
    with running(create_app(down, redis=redis_client)) as url:
        token = signer.sign("unsubscribe", ref)
        page = httpx.get(f"{url}/u/{token}")
        assert page.status_code == 200 and "your address" in page.text  # still offers the button
        response = httpx.post(f"{url}/u/{token}", data=ONE_CLICK)
        assert response.status_code == 200 and "You are unsubscribed" in response.text
        assert httpx.post(f"{url}/u/{signer.sign('unsubscribe', other)}").status_code == 200
    # Recorded durably in Redis, and the running batch already skips them.
    assert unsubscribe_queue_length(redis_client, prefix="lanyard:") == 2
    assert suppressed(redis_client) == {ref.subscription_id, other.subscription_id}
    assert status_of(engine, ref) == "active"

    assert unsubscribe_replay(engine, redis_client, prefix="lanyard:") == 2
    assert status_of(engine, ref) == status_of(engine, other) == "unsubscribed"
    assert audit_rows(engine, ref) == [("unsubscribe", "one_click")]
    assert audit_rows(engine, other) == [("unsubscribe", "link")]
    assert unsubscribe_queue_length(redis_client, prefix="lanyard:") == 0
    assert unsubscribe_replay(engine, redis_client, prefix="lanyard:") == 0


def test_redis_down_database_up_still_unsubscribes(make_settings, database_url, engine, signer, make_subscription):
    ref = make_subscription()
    no_redis = make_settings(database_url=database_url, redis_url=f"redis://127.0.0.1:{dead_port()}/0")
    with running(create_app(no_redis, engine=engine)) as url:
        response = httpx.post(f"{url}/u/{signer.sign('unsubscribe', ref)}", data=ONE_CLICK)
        assert response.status_code == 200
        assert status_of(engine, ref) == "unsubscribed"
        # Resubscribing needs Redis (the suppression set must let go): an honest 503.
        again = httpx.post(f"{url}/r/{signer.sign('resubscribe', ref)}")
        assert again.status_code == 503 and again.headers["retry-after"]
        assert_secure(again)
    assert status_of(engine, ref) == "unsubscribed"


def test_both_down_is_an_honest_503(make_settings, database_url, engine, redis_client, signer, make_subscription):
    ref = make_subscription()
    down = make_settings(
        database_url=f"postgresql://postgres@127.0.0.1:{dead_port()}/lanyard",
        redis_url=f"redis://127.0.0.1:{dead_port()}/0",
    )
    with running(create_app(down)) as url:
        response = httpx.post(f"{url}/u/{signer.sign('unsubscribe', ref)}", data=ONE_CLICK)
    assert response.status_code == 503
    assert_secure(response)
    assert "try again" in response.text.lower() and "unsubscribed" not in response.text.lower()
    assert status_of(engine, ref) == "active"
    assert unsubscribe_queue_length(redis_client, prefix="lanyard:") == 0
    assert suppressed(redis_client) == set()


def test_many_concurrent_posts_each_subscription_unsubscribed_once(
    endpoint, engine, redis_client, signer, make_subscription
):
    refs = [make_subscription() for _ in range(8)]
    urls = [str(endpoint.base_url) + f"/u/{signer.sign('unsubscribe', ref)}" for ref in refs for _ in range(4)]
    start = threading.Barrier(len(urls))
    answers: list[tuple[int, bool]] = []

    def post(url):
        with httpx.Client(timeout=60) as client:
            start.wait()
            response = client.post(url, data=ONE_CLICK)
            answers.append((response.status_code, "You are unsubscribed" in response.text))

    threads = [threading.Thread(target=post, args=(url,)) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [(200, True)] * len(urls)  # every answer true: each is durably queued
    assert suppressed(redis_client) == {ref.subscription_id for ref in refs}
    wait_applied(redis_client)
    for ref in refs:
        assert audit_rows(engine, ref) == [("unsubscribe", "one_click")]
        assert status_of(engine, ref) == "unsubscribed"
    assert suppressed(redis_client) == {ref.subscription_id for ref in refs}
    assert unsubscribe_queue_length(redis_client, prefix="lanyard:") == 0


def mixed_group(make_subscription):
    """Two subscriptions (the first asked twice), one already unsubscribed, one missing id;
    returns them and the group of asks."""
    first, second = make_subscription(), make_subscription()
    already = make_subscription(status="unsubscribed")
    missing = second.subscription_id + 1000
    group = [(first.subscription_id, "one_click"), (second.subscription_id, "link"), (first.subscription_id, "link"),
             (already.subscription_id, "one_click"), (missing, "link")]
    return first, second, already, missing, group


def checkouts_of(engine) -> list[object]:
    """A list that grows by one each time ``engine`` hands out a connection."""
    checkouts: list[object] = []
    event.listen(engine, "checkout", lambda *args: checkouts.append(args))
    return checkouts


def test_a_group_is_one_script_call_and_the_replay_applies_each_subscription_once(
    settings, engine, redis_client, make_subscription
):
    app = create_app(settings, engine=engine, redis=redis_client)
    app.applier.close()  # this test applies the queue itself
    first, second, already, missing, group = mixed_group(make_subscription)
    checkouts = checkouts_of(engine)

    assert app._unsubscribe_group(group) == [True] * 5  # durably queued: the answers may say done
    assert checkouts == []  # no database for the group
    assert unsubscribe_queue_length(redis_client, prefix="lanyard:") == 5
    assert suppressed(redis_client) == {first.subscription_id, second.subscription_id, already.subscription_id, missing}

    assert unsubscribe_replay(engine, redis_client, prefix="lanyard:") == 4  # the missing one dropped
    assert audit_rows(engine, first) == [("unsubscribe", "one_click")]  # asked twice, applied once
    assert audit_rows(engine, second) == [("unsubscribe", "link")]
    assert audit_rows(engine, already) == []
    assert status_of(engine, first) == status_of(engine, second) == "unsubscribed"

    app._unsubscribe_group(group)  # a repeat writes nothing
    assert unsubscribe_replay(engine, redis_client, prefix="lanyard:") == 4
    assert len(audit_rows(engine)) == 2
    assert unsubscribe_queue_length(redis_client, prefix="lanyard:") == 0


def test_with_redis_away_a_group_is_one_transaction(make_settings, database_url, engine, make_subscription):
    no_redis = make_settings(database_url=database_url, redis_url=f"redis://127.0.0.1:{dead_port()}/0")
    app = create_app(no_redis, engine=engine)
    first, second, already, missing, group = mixed_group(make_subscription)
    checkouts = checkouts_of(engine)

    results = app._unsubscribe_group(group)
    assert results[:4] == [True, True, True, False]
    assert isinstance(results[4], SubscriptionNotFound) and results[4].subscription_id == missing
    assert len(checkouts) == 1  # one connection, one transaction (on PostgreSQL one statement) for the group
    assert audit_rows(engine, first) == [("unsubscribe", "one_click")]  # asked twice, applied once
    assert audit_rows(engine, second) == [("unsubscribe", "link")]
    assert audit_rows(engine, already) == []

    checkouts.clear()
    again = app._unsubscribe_group(group)  # a repeat writes nothing
    assert len(checkouts) == 1
    assert again[:4] == [False, False, False, False] and isinstance(again[4], SubscriptionNotFound)
    assert len(audit_rows(engine)) == 2
    app.close()


@pytest.fixture
def own_postgres(tmp_path):
    """A PostgreSQL server of this test's own (it is stopped mid-test), with lanyard's schema."""
    cluster = PostgresCluster()
    cluster.init()
    cluster.start()
    try:
        cluster.create_database("lanyard")
        django_migrate(cluster.url("lanyard"), tmp_path / "migrate")
        yield cluster
    finally:
        try:
            cluster.stop(mode="immediate")
        except AssertionError:  # the test left it stopped
            pass
        cluster.remove()


def insert_subscription(engine, n: int) -> SubscriptionRef:
    with engine.begin() as connection:
        person_id = connection.execute(db.person.insert().values(
            name=f"Ada {n}", handle=f"ada{n}", bio="", avatar_url="", timezone="UTC", cache_version=1,
        )).inserted_primary_key[0]
        subscription_id = connection.execute(db.subscription.insert().values(
            person_id=person_id, list="daily", status="active", email=f"ada{n}@example.com", send_hour=7,
            created_at=NOW, updated_at=NOW,
        )).inserted_primary_key[0]
    return SubscriptionRef(subscription_id, "daily")


def test_a_stopped_database_never_gets_a_false_done(own_postgres, make_settings, redis_client):
    signer = TokenSigner([TEST_SECRET])
    settings = make_settings(database_url=own_postgres.url("lanyard"))
    engine = db.make_engine(settings.database.primary)
    committed, refused, queued = (insert_subscription(engine, n) for n in (1, 2, 3))
    # One endpoint whose Redis is away too (nowhere to queue), one with the test Redis.
    no_redis = create_app(make_settings(database_url=own_postgres.url("lanyard"),
                                        redis_url=f"redis://127.0.0.1:{dead_port()}/0"))
    with running(no_redis) as bare, running(create_app(settings, redis=redis_client)) as queueing:
        response = httpx.post(f"{bare}/u/{signer.sign('unsubscribe', committed)}", data=ONE_CLICK, timeout=30)
        assert response.status_code == 200 and "You are unsubscribed" in response.text
        assert httpx.get(f"{queueing}/u/{signer.sign('unsubscribe', queued)}", timeout=30).status_code == 200

        own_postgres.stop(mode="immediate")  # the pools' connections die with it
        refused_answer = httpx.post(f"{bare}/u/{signer.sign('unsubscribe', refused)}", data=ONE_CLICK, timeout=30)
        queued_answer = httpx.post(f"{queueing}/u/{signer.sign('unsubscribe', queued)}", data=ONE_CLICK, timeout=30)
    engine.dispose()
    assert refused_answer.status_code == 503 and refused_answer.headers["retry-after"]
    assert "try again" in refused_answer.text.lower() and "unsubscribed" not in refused_answer.text.lower()
    # Durably queued in Redis: that answer may say so.
    assert queued_answer.status_code == 200 and "You are unsubscribed" in queued_answer.text
    assert unsubscribe_queue_length(redis_client, prefix="lanyard:") == 1

    own_postgres.start()
    assert status_of(engine, committed) == "unsubscribed" and audit_rows(engine, committed) == [
        ("unsubscribe", "one_click")
    ]
    assert status_of(engine, refused) == "active" and audit_rows(engine, refused) == []
    assert unsubscribe_replay(engine, redis_client, prefix="lanyard:") == 1
    assert status_of(engine, queued) == "unsubscribed" and audit_rows(engine, queued) == [("unsubscribe", "one_click")]
    engine.dispose()
    no_redis.engine.dispose()
