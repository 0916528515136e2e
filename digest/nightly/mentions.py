"""What earlier digests told each subscription about: the mention memory.

The ledger is the record (each sent delivery keeps the event ids it mentioned); Redis
holds a copy per subscription (a sorted set scored by start day, with a "loaded" member
marking it whole), read for a chunk in one round trip. A subscription without a copy
(Redis restarted empty, the key evicted or expired) is read from the ledger and its copy
made again, so losing Redis never repeats an event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from redis import Redis
from sqlalchemy import Engine, select

from digest.delivery import ledger
from digest.graph.store import day_number
from digest.stores import db
from digest.stores.db import batches
from digest.stores.keys import RedisKeys
from digest.stores.scripts import lua
from digest.values import Outgoing, Window

MENTIONED_TTL = 400 * 86400  # seconds: a lapsed subscription's memory goes eventually
MENTION_LOADED = b"0"  # the member (scored +inf) that marks a subscription's copy in Redis as whole


class MentionMemory:
    """The mention memory of one lanyard (its database, its Redis under its prefix)."""

    def __init__(self, *, engine: Engine, redis: Redis, keys: RedisKeys) -> None:
        self.engine, self.redis, self.keys = engine, redis, keys
        self._remember = redis.register_script(lua("mentions_remember"))

    def read(self, *, subscription_ids: Sequence[int], window: Window) -> dict[int, set[int]]:
        """Subscription id → the events still ahead that earlier digests mentioned."""
        pipe = self.redis.pipeline(transaction=False)
        low = day_number(window.start)
        for sid in subscription_ids:
            pipe.zrangebyscore(self.keys.mentioned(sid), low, "+inf")
        found: dict[int, set[int]] = {}
        cold: list[int] = []
        for sid, events in zip(subscription_ids, pipe.execute(), strict=True):
            if MENTION_LOADED in events:
                found[sid] = {int(e) for e in events if e != MENTION_LOADED}
            else:
                cold.append(sid)
        if cold:
            found.update(self._from_ledger(cold, window))
        return found

    def remember(self, *, sent: Iterable[Outgoing], digest_date: dt.date) -> None:
        """Add what these sent digests mentioned to each subscription's copy (one script call)."""
        keys: list[str] = []
        args: list[int | float | str] = [day_number(digest_date) - 1, MENTIONED_TTL]
        for item in sent:
            keys.append(self.keys.mentioned(item.subscription_id))
            args.append(len(item.mentioned))
            for event_id, score in item.mentioned.items():
                args += (score, event_id)
        if keys:
            self._remember(keys=keys, args=args)

    def _from_ledger(self, subscription_ids: Sequence[int], window: Window) -> dict[int, set[int]]:
        since = window.start - dt.timedelta(seconds=MENTIONED_TTL)
        with self.engine.connect() as connection:
            memory = ledger.delivery_mentions(connection, subscription_ids=subscription_ids, since=since)
            every = set().union(*memory.values()) if memory else set()
            e = db.event_
            starts: dict[int, int] = {}
            for batch in batches(sorted(every)):
                starts.update(
                    (event_id, day_number(start))
                    for event_id, start in connection.execute(
                        select(e.c.id, e.c.start_date).where(e.c.id.in_(batch), e.c.start_date >= window.start)
                    )
                )
        pipe = self.redis.pipeline(transaction=True)
        found = {}
        for sid in subscription_ids:
            ahead = {event_id: starts[event_id] for event_id in memory.get(sid, ()) if event_id in starts}
            found[sid] = set(ahead)
            key = self.keys.mentioned(sid)
            pipe.delete(key)
            pipe.zadd(key, {MENTION_LOADED: "+inf", **ahead})
            pipe.expire(key, MENTIONED_TTL)
        pipe.execute()
        return found


def forget_mentions(redis: Redis, prefix: str) -> int:
    """Forget the cached copies of what every digest mentioned (after the data is replaced: ids are reused)."""
    keys = list(redis.scan_iter(match=RedisKeys(prefix).mentioned_pattern(), count=5000))
    for start in range(0, len(keys), 5000):
        redis.delete(*keys[start:start + 5000])
    return len(keys)
