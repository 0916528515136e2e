"""The queue of subscription changes: what the unsubscribe endpoint has answered and the
database does not have yet.

The endpoint queues each change durably in Redis (:func:`subscription_changes_enqueue`:
the pending queue and the suppression set in one script call, for every request of a
group commit at once) and :func:`unsubscribe_replay` applies the queue, in batches, in the
order the changes came (the endpoint's queue applier right after; the scheduler and
``lanyard unsubscribe replay`` for what is left). A replay moves a batch into a
processing list and trims it off only after the database has committed it, so a replay
that dies midway leaves its batch to the next one, which applies it again harmlessly
(digest/subscriptions.py: every change is conditional).
"""

from __future__ import annotations

import itertools
import logging
import secrets
from collections.abc import Sequence

import redis as redis_lib
from sqlalchemy import Engine

from digest.ops.readonly import read_only_get
from digest.stores.keys import RedisKeys
from digest.stores.scripts import lua
from digest.subscriptions import (
    SubscriptionChange,
    SubscriptionNotFound,
    subscription_resubscribe,
    subscription_unsubscribe,
    subscription_unsubscribe_asked,
)
from digest.vocabulary import SubscriptionAction

log = logging.getLogger("lanyard.unsubscribe")

REPLAY_LOCK_MS = 60_000  # a replay that died frees the queue for the next one after this
# Queued changes applied per statement: big enough that a commit serves hundreds of
# unsubscribes, small enough that a batch re-applied after a crash is cheap.
REPLAY_BATCH = 500

# Queues changes with their suppression-set moves, both or neither (see the script).
ENQUEUE_SCRIPT = lua("unsubscribe_enqueue")


def subscription_change_enqueue(redis: redis_lib.Redis, *, prefix: str, change: SubscriptionChange) -> None:
    """Record a change durably in Redis for the replay, and apply it to the suppression
    set, both or neither (one script call)."""
    subscription_changes_enqueue(redis, prefix=prefix, changes=[change])


def subscription_changes_enqueue(
    redis: redis_lib.Redis, *, prefix: str, changes: Sequence[SubscriptionChange],
) -> None:
    """:func:`subscription_change_enqueue` for several changes, in their order, in one
    script call (one round trip for a whole group commit)."""
    if changes:
        redis.register_script(ENQUEUE_SCRIPT)(keys=enqueue_keys(prefix), args=enqueue_arguments(changes))


def enqueue_keys(prefix: str) -> list[str]:
    """The keys :data:`ENQUEUE_SCRIPT` writes: the suppression set and the pending queue."""
    keys = RedisKeys(prefix)
    return [keys.unsubscribe_suppressed, keys.unsubscribe_pending]


def enqueue_arguments(changes: Sequence[SubscriptionChange]) -> list[int | str]:
    """:data:`ENQUEUE_SCRIPT`'s arguments for ``changes`` (the endpoint's event loop
    sends the same script with the same arguments on its own connection)."""
    arguments: list[int | str] = []
    for change in changes:
        unsubscribe = 1 if change.action == SubscriptionAction.UNSUBSCRIBE else 0
        arguments += (change.subscription_id, unsubscribe, change.to_json())
    return arguments


def unsubscribe_queue_length(redis: redis_lib.Redis, *, prefix: str) -> int:
    """Changes waiting for a replay (including one a replay is applying right now)."""
    keys = RedisKeys(prefix)
    with redis.pipeline(transaction=False) as pipe:
        pipe.llen(keys.unsubscribe_pending)
        pipe.llen(keys.unsubscribe_processing)
        return sum(pipe.execute())


_EXTEND_LOCK = lua("lock_extend")
_RELEASE_LOCK = lua("lock_release")
_TAKE = lua("unsubscribe_take")


def unsubscribe_replay(engine: Engine, redis: redis_lib.Redis, *, prefix: str, limit: int | None = None) -> int:
    """Apply the queued changes to the database, oldest first, :data:`REPLAY_BATCH` at a time.

    Returns how many queued changes were written to the database (including those
    that found the subscription already in the wanted state). An entry naming a
    subscription that no longer exists, or one that cannot be parsed, is dropped with
    a log line. A database error stops the replay and propagates; the batch being
    applied stays in the processing list and is the first one the next replay applies.
    Only one replay runs at a time (a Redis lock); a second returns 0 at once. While
    read-only mode is on (a deploy) nothing is replayed.
    """
    keys = RedisKeys(prefix)
    if read_only_get(redis, prefix=prefix).on:
        log.info("unsubscribe replay: lanyard is read-only; the queue waits until it is off")
        return 0
    token = secrets.token_hex(16)
    if not redis.set(keys.unsubscribe_replay_lock, token, nx=True, px=REPLAY_LOCK_MS):
        log.debug("unsubscribe replay: another replay is running; leaving the queue to it")
        return 0
    applied = 0
    try:
        while limit is None or applied < limit:
            want = REPLAY_BATCH if limit is None else min(REPLAY_BATCH, limit - applied)
            raws = redis.eval(_TAKE, 2, keys.unsubscribe_pending, keys.unsubscribe_processing, want)
            if not raws:
                break
            applied += _replay_entries(engine, raws)
            with redis.pipeline(transaction=False) as pipe:
                pipe.ltrim(keys.unsubscribe_processing, len(raws), -1)
                pipe.eval(_EXTEND_LOCK, 1, keys.unsubscribe_replay_lock, token, REPLAY_LOCK_MS)
                pipe.execute()
    finally:
        redis.eval(_RELEASE_LOCK, 1, keys.unsubscribe_replay_lock, token)
    return applied


def _replay_entries(engine: Engine, raws: Sequence[bytes]) -> int:
    """Apply queue entries in their order; how many were written (the rest were dropped).

    Each run of consecutive unsubscribes is applied together (on PostgreSQL one
    statement); a resubscribe (rare) on its own, between them, so a subscription's
    changes keep their order.
    """
    changes: list[SubscriptionChange] = []
    for raw in raws:
        try:
            changes.append(SubscriptionChange.from_json(raw))
        except ValueError as error:
            log.error("unsubscribe replay: dropped an unreadable entry %r: %s", raw[:200], error)
    applied = 0
    for action, run in itertools.groupby(changes, key=lambda change: change.action):
        if action == SubscriptionAction.UNSUBSCRIBE:
            applied += _replay_unsubscribes(engine, list(run))
        else:
            applied += sum(_replay_change(engine, change) for change in run)
    return applied


def _replay_unsubscribes(engine: Engine, changes: list[SubscriptionChange]) -> int:
    """A run of queued unsubscribes, together (on PostgreSQL one statement)."""
    found = subscription_unsubscribe_asked(engine, changes=changes)
    applied = 0
    for change in changes:
        if change.subscription_id in found:
            applied += 1
        else:
            _log_dropped(change)
    # Debug: under load a batch goes every few milliseconds.
    log.debug("unsubscribe replay: %d unsubscribes applied (%d changed a subscription; the rest were "
              "already so, or superseded by a later change)", applied, sum(found.values()))
    return applied


def _replay_change(engine: Engine, change: SubscriptionChange) -> bool:
    """Apply one queued change; False when it was dropped."""
    apply = subscription_unsubscribe if change.action == SubscriptionAction.UNSUBSCRIBE else subscription_resubscribe
    try:
        changed = apply(engine, subscription_id=change.subscription_id, via=change.via, at=change.at)
    except SubscriptionNotFound:
        _log_dropped(change)
        return False
    log.debug(
        "unsubscribe replay: %s of subscription %d (asked %s) %s",
        change.action, change.subscription_id, change.at.isoformat(),
        "applied" if changed else "changed nothing (already so, or superseded by a later change)",
    )
    return True


def _log_dropped(change: SubscriptionChange) -> None:
    log.warning(
        "unsubscribe replay: dropped the %s of subscription %d (asked %s): it no longer exists",
        change.action, change.subscription_id, change.at.isoformat(),
    )
