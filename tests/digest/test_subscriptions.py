"""Unsubscribe and resubscribe services, and the durable replay queue, on SQLite and
PostgreSQL with the real Redis."""

from __future__ import annotations

import datetime as dt
import logging
import threading

import pytest
from sqlalchemy import event, select

from digest.stores import db
from digest.stores.keys import RedisKeys
from digest.subscriptions import (
    SubscriptionChange,
    SubscriptionNotFound,
    subscription_get,
    subscription_resubscribe,
    subscription_unsubscribe,
    subscription_unsubscribe_many,
)
from digest.unsubscribe_queue import (
    subscription_change_enqueue,
    subscription_changes_enqueue,
    unsubscribe_queue_length,
    unsubscribe_replay,
)
from tests.factories import make_person, make_subscription

PREFIX = "lanyard:"
KEYS = RedisKeys(PREFIX)
NOW = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def subscription_id(engine):
    with engine.begin() as connection:
        person_id = connection.execute(db.person.insert().values(
            name="Grace", handle="grace", bio="", avatar_url="", timezone="UTC", cache_version=1,
        )).inserted_primary_key[0]
        return connection.execute(db.subscription.insert().values(
            person_id=person_id, list="weekly", status="active", email="grace@example.com",
            send_hour=7, created_at=NOW, updated_at=NOW,
        )).inserted_primary_key[0]


def status(engine, subscription_id) -> str:
    return subscription_get(engine, subscription_id=subscription_id).status


def audit(engine) -> list[tuple]:
    e = db.unsubscribe_event.c
    with engine.connect() as connection:
        return [tuple(r) for r in connection.execute(select(e.subscription_id, e.action, e.via).order_by(e.id))]


def change(subscription_id, action="unsubscribe", via="one_click", at=None) -> SubscriptionChange:
    return SubscriptionChange(subscription_id, action, via, at or dt.datetime.now(dt.UTC))


def test_unsubscribe_and_resubscribe_change_once(engine, subscription_id):
    card = subscription_get(engine, subscription_id=subscription_id)
    assert (card.list_name, card.email, card.status) == ("weekly", "grace@example.com", "active")
    assert subscription_resubscribe(engine, subscription_id=subscription_id, via="link") is False  # already active
    assert subscription_unsubscribe(engine, subscription_id=subscription_id, via="one_click") is True
    assert subscription_unsubscribe(engine, subscription_id=subscription_id, via="link") is False
    assert status(engine, subscription_id) == "unsubscribed"
    assert subscription_resubscribe(engine, subscription_id=subscription_id, via="link") is True
    assert status(engine, subscription_id) == "active"
    assert audit(engine) == [(subscription_id, "unsubscribe", "one_click"), (subscription_id, "resubscribe", "link")]


def test_unknown_subscription_and_via(engine, subscription_id):
    with pytest.raises(SubscriptionNotFound):
        subscription_unsubscribe(engine, subscription_id=subscription_id + 99, via="link")
    with pytest.raises(SubscriptionNotFound):
        subscription_resubscribe(engine, subscription_id=subscription_id + 99, via="link")
    with pytest.raises(ValueError):
        subscription_unsubscribe(engine, subscription_id=subscription_id, via="carrier pigeon")
    assert subscription_get(engine, subscription_id=subscription_id + 99) is None
    assert audit(engine) == []


def test_enqueue_is_durable_and_suppresses(engine, redis_client, subscription_id):
    subscription_change_enqueue(redis_client, prefix=PREFIX, change=change(subscription_id))
    assert redis_client.sismember(KEYS.unsubscribe_suppressed, subscription_id)
    assert unsubscribe_queue_length(redis_client, prefix=PREFIX) == 1
    assert status(engine, subscription_id) == "active"
    assert unsubscribe_replay(engine, redis_client, prefix=PREFIX) == 1
    assert status(engine, subscription_id) == "unsubscribed"
    assert unsubscribe_queue_length(redis_client, prefix=PREFIX) == 0
    # A queued resubscribe lets go of the suppression set at once.
    subscription_change_enqueue(redis_client, prefix=PREFIX, change=change(subscription_id, "resubscribe", "link"))
    assert not redis_client.sismember(KEYS.unsubscribe_suppressed, subscription_id)
    assert unsubscribe_replay(engine, redis_client, prefix=PREFIX) == 1
    assert status(engine, subscription_id) == "active"


def test_replay_resumes_an_entry_a_dead_replay_left_behind(engine, redis_client, subscription_id):
    """A replay that died after moving an entry to the processing list lost nothing."""
    with engine.begin() as connection:
        second = connection.execute(db.subscription.insert().values(
            person_id=connection.execute(db.person.insert().values(
                name="Alan", handle="alan", bio="", avatar_url="", timezone="UTC", cache_version=1,
            )).inserted_primary_key[0],
            list="daily", status="active", email="alan@example.com", send_hour=7, created_at=NOW, updated_at=NOW,
        )).inserted_primary_key[0]
    subscription_change_enqueue(redis_client, prefix=PREFIX, change=change(subscription_id, via="link"))
    subscription_change_enqueue(redis_client, prefix=PREFIX, change=change(second))
    # The dead replay's step: one entry moved, never applied nor removed.
    redis_client.lmove(KEYS.unsubscribe_pending, KEYS.unsubscribe_processing, "LEFT", "RIGHT")
    assert redis_client.llen(KEYS.unsubscribe_processing) == 1
    assert unsubscribe_replay(engine, redis_client, prefix=PREFIX) == 2
    assert status(engine, subscription_id) == status(engine, second) == "unsubscribed"
    assert audit(engine) == [(subscription_id, "unsubscribe", "link"), (second, "unsubscribe", "one_click")]
    assert redis_client.llen(KEYS.unsubscribe_processing) == 0


def test_replay_against_a_dead_database_keeps_the_entry(make_settings, engine, redis_client, subscription_id):
    import socket

    from sqlalchemy.exc import OperationalError

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dead = db.make_engine(make_settings(database_url=f"postgresql://postgres@127.0.0.1:{port}/x").database.primary,
                          connect_args={"connect_timeout": 2})
    subscription_change_enqueue(redis_client, prefix=PREFIX, change=change(subscription_id))
    with pytest.raises(OperationalError):
        unsubscribe_replay(dead, redis_client, prefix=PREFIX)
    dead.dispose()
    assert unsubscribe_queue_length(redis_client, prefix=PREFIX) == 1
    assert not redis_client.exists(KEYS.unsubscribe_replay_lock)  # freed for the next replay
    assert unsubscribe_replay(engine, redis_client, prefix=PREFIX) == 1
    assert status(engine, subscription_id) == "unsubscribed"


def test_replay_drops_unknown_subscriptions_and_junk_with_a_log_line(engine, redis_client, subscription_id, caplog):
    caplog.set_level(logging.INFO, logger="lanyard.unsubscribe")
    subscription_change_enqueue(redis_client, prefix=PREFIX, change=change(subscription_id + 500))
    redis_client.rpush(KEYS.unsubscribe_pending, b"not json", b'{"subscription_id": "1"}')
    subscription_change_enqueue(redis_client, prefix=PREFIX, change=change(subscription_id))
    assert unsubscribe_replay(engine, redis_client, prefix=PREFIX) == 1
    assert status(engine, subscription_id) == "unsubscribed"
    assert unsubscribe_queue_length(redis_client, prefix=PREFIX) == 0
    assert f"subscription {subscription_id + 500}" in caplog.text and "no longer exists" in caplog.text
    assert caplog.text.count("dropped an unreadable entry") == 2


def test_a_later_change_wins_over_a_queued_one(engine, redis_client, subscription_id):
    """Queued while the database was down, then the person resubscribed on the site:
    the replay must not unsubscribe them again."""
    asked = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    subscription_change_enqueue(redis_client, prefix=PREFIX, change=change(subscription_id, at=asked))
    subscription_unsubscribe(engine, subscription_id=subscription_id, via="site")
    subscription_resubscribe(engine, subscription_id=subscription_id, via="site")
    assert unsubscribe_replay(engine, redis_client, prefix=PREFIX) == 1
    assert status(engine, subscription_id) == "active"
    assert [row[1:] for row in audit(engine)] == [("unsubscribe", "site"), ("resubscribe", "site")]


def test_replay_in_order_and_with_a_limit(engine, redis_client, subscription_id):
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    for minutes, action in enumerate(("unsubscribe", "resubscribe", "unsubscribe")):
        subscription_change_enqueue(redis_client, prefix=PREFIX, change=change(
            subscription_id, action, "link", at=start + dt.timedelta(minutes=minutes)))
    assert unsubscribe_replay(engine, redis_client, prefix=PREFIX, limit=2) == 2
    assert status(engine, subscription_id) == "active"
    assert unsubscribe_queue_length(redis_client, prefix=PREFIX) == 1
    assert unsubscribe_replay(engine, redis_client, prefix=PREFIX) == 1
    assert status(engine, subscription_id) == "unsubscribed"
    assert [row[1] for row in audit(engine)] == ["unsubscribe", "resubscribe", "unsubscribe"]


def test_one_replay_at_a_time(engine, redis_client, subscription_id):
    subscription_change_enqueue(redis_client, prefix=PREFIX, change=change(subscription_id))
    redis_client.set(KEYS.unsubscribe_replay_lock, "someone else", px=60_000)
    assert unsubscribe_replay(engine, redis_client, prefix=PREFIX) == 0
    assert unsubscribe_queue_length(redis_client, prefix=PREFIX) == 1
    assert redis_client.get(KEYS.unsubscribe_replay_lock) == b"someone else"  # not ours to free
    redis_client.delete(KEYS.unsubscribe_replay_lock)
    assert unsubscribe_replay(engine, redis_client, prefix=PREFIX) == 1


def test_groups_overlapping_in_opposite_orders_apply_each_subscription_once(engine):
    with engine.begin() as connection:
        ids = [make_subscription(connection, make_person(connection)) for _ in range(12)]
    groups = [[(i, "one_click") for i in ids], [(i, "link") for i in reversed(ids)],
              [(i, "one_click") for i in ids[::2]], [(i, "link") for i in ids[1::3]]]
    start = threading.Barrier(len(groups))
    results: list[dict[int, bool]] = []

    def write(group):
        start.wait()
        results.append(subscription_unsubscribe_many(engine, asks=group))

    threads = [threading.Thread(target=write, args=(group,)) for group in groups]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == len(groups)  # no group failed (no deadlock between them)
    # Each subscription changed in exactly one group, with exactly one audit row.
    assert sorted(i for result in results for i, changed in result.items() if changed) == ids
    assert sorted(row[0] for row in audit(engine)) == ids
    assert {status(engine, i) for i in ids} == {"unsubscribed"}


def test_a_group_names_missing_subscriptions_by_leaving_them_out(engine, subscription_id):
    assert subscription_unsubscribe_many(engine, asks=[]) == {}
    assert subscription_unsubscribe_many(engine, asks=[(subscription_id + 1, "link"), (subscription_id, "link")]) == {
        subscription_id: True
    }
    with pytest.raises(ValueError, match="unknown via"):
        subscription_unsubscribe_many(engine, asks=[(subscription_id, "carrier pigeon")])
    assert audit(engine) == [(subscription_id, "unsubscribe", "link")]



def test_a_group_on_an_autocommit_engine_is_committed_and_connections_come_back_as_they_went(
    settings, engine, subscription_id
):
    # The endpoint's engine is in autocommit on PostgreSQL: its one statement is used as it is.
    autocommit = db.make_engine(settings.database.primary, isolation_level="AUTOCOMMIT")
    try:
        assert subscription_unsubscribe_many(autocommit, asks=[(subscription_id, "one_click")]) == {
            subscription_id: True
        }
        assert subscription_resubscribe(autocommit, subscription_id=subscription_id, via="link") is True
        # A transactional engine's connection is switched to autocommit for the statement, and back.
        assert subscription_unsubscribe_many(engine, asks=[(subscription_id, "link")]) == {subscription_id: True}
        if engine.dialect.name == "postgresql":
            for pool, expected in ((autocommit, True), (engine, False)):
                pooled = pool.raw_connection()
                try:
                    assert pooled.driver_connection.autocommit is expected
                finally:
                    pooled.close()
    finally:
        autocommit.dispose()
    assert status(engine, subscription_id) == "unsubscribed"  # seen from another engine: committed
    assert [row[1:] for row in audit(engine)] == [
        ("unsubscribe", "one_click"), ("resubscribe", "link"), ("unsubscribe", "link"),
    ]


def more_subscriptions(engine, count: int) -> list[int]:
    ids = []
    with engine.begin() as connection:
        for n in range(count):
            person_id = make_person(connection, name=f"Kay {n}", handle=f"kay{n}")
            ids.append(make_subscription(connection, person_id, email=f"kay{n}@example.com"))
    return ids


def test_a_batch_keeps_each_subscriptions_changes_in_order(engine, redis_client, subscription_id):
    """Runs of unsubscribes are applied together (on PostgreSQL one statement each), a
    resubscribe between them on its own, so a subscription's changes keep their order."""
    a, b, c = subscription_id, *more_subscriptions(engine, 2)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    queued = [(a, "unsubscribe"), (b, "unsubscribe"), (a, "resubscribe"), (a, "unsubscribe"), (c, "unsubscribe")]
    subscription_changes_enqueue(redis_client, prefix=PREFIX, changes=[
        change(i, action, "link", at=start + dt.timedelta(minutes=n)) for n, (i, action) in enumerate(queued)
    ])
    assert {int(i) for i in redis_client.smembers(KEYS.unsubscribe_suppressed)} == {a, b, c}
    checkouts: list[object] = []
    event.listen(engine, "checkout", lambda *args: checkouts.append(args))
    assert unsubscribe_replay(engine, redis_client, prefix=PREFIX) == 5
    if engine.dialect.name == "postgresql":
        assert len(checkouts) == 3  # [a, b], then a's resubscribe, then [a, c]
    assert [status(engine, i) for i in (a, b, c)] == ["unsubscribed"] * 3
    assert [row[:2] for row in audit(engine) if row[0] == a] == [
        (a, "unsubscribe"), (a, "resubscribe"), (a, "unsubscribe"),
    ]
    e = db.unsubscribe_event.c
    with engine.connect() as connection:  # each audit row carries the time the person asked
        times = connection.execute(select(e.created_at).where(e.subscription_id == c)).scalars().all()
    assert [moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment for moment in times] == [
        start + dt.timedelta(minutes=4)
    ]


def test_a_batch_applied_again_after_a_crash_writes_nothing_more(engine, redis_client, subscription_id):
    """A replay that died after its commit but before trimming its batch leaves the batch
    in the processing list: the next replay applies it again, and nothing changes."""
    a, b = subscription_id, *more_subscriptions(engine, 1)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    changes = [change(a, at=start), change(b, at=start), change(a, "resubscribe", "link", at=start + dt.timedelta(1))]
    subscription_changes_enqueue(redis_client, prefix=PREFIX, changes=changes)
    raws = redis_client.lrange(KEYS.unsubscribe_pending, 0, -1)
    assert unsubscribe_replay(engine, redis_client, prefix=PREFIX) == 3
    before = audit(engine)
    redis_client.rpush(KEYS.unsubscribe_processing, *raws)  # the dead replay's batch, committed, never trimmed
    assert unsubscribe_replay(engine, redis_client, prefix=PREFIX) == 3
    assert audit(engine) == before
    assert (status(engine, a), status(engine, b)) == ("active", "unsubscribed")
    assert unsubscribe_queue_length(redis_client, prefix=PREFIX) == 0


def test_a_replay_takes_batches_of_at_most_replay_batch(engine, redis_client, subscription_id, monkeypatch):
    import digest.unsubscribe_queue as subscriptions

    ids = [subscription_id, *more_subscriptions(engine, 6)]
    monkeypatch.setattr(subscriptions, "REPLAY_BATCH", 3)
    subscription_changes_enqueue(redis_client, prefix=PREFIX, changes=[change(i) for i in ids])
    seen: list[int] = []
    real = subscriptions._replay_entries

    def counted(engine, raws):
        seen.append(len(raws))
        return real(engine, raws)

    monkeypatch.setattr(subscriptions, "_replay_entries", counted)
    assert unsubscribe_replay(engine, redis_client, prefix=PREFIX) == 7
    assert seen == [3, 3, 1]
    assert {status(engine, i) for i in ids} == {"unsubscribed"}
