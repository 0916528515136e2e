"""Subscription changes made on the site, through the digest core's services.

The core writes the status and the audit row; the suppression set a running batch
checks is updated right after, so an unsubscribe stops mail at once and a resubscribe
lets the person back in (left suppressed, batches would skip them for good).

With Redis away an unsubscribe still counts (the database is the truth, and no batch sends
without Redis), while a resubscribe is refused before anything is written: it could not
take the person out of the suppression set.
"""

import redis
from django.conf import settings

from digest.subscriptions import (
    subscription_resubscribe,
    subscription_suppress,
    subscription_unsubscribe,
    subscription_unsuppress,
)
from digest.vocabulary import Store

from .. import stores
from ..ops.degraded import store_away

VIA = "site"


class ChangeRefused(RuntimeError):
    """Nothing was changed; the message says why, for the person."""


def subscription_unsubscribe_on_site(*, subscription_id: int, alias: str) -> bool:
    changed = subscription_unsubscribe(stores.engine(alias), subscription_id=subscription_id, via=VIA)
    try:
        subscription_suppress(stores.redis(), prefix=settings.LANYARD.redis.prefix, subscription_id=subscription_id)
    except redis.RedisError as error:
        store_away(Store.REDIS, error)
    return changed


def subscription_resubscribe_on_site(*, subscription_id: int, alias: str) -> bool:
    try:
        subscription_unsuppress(stores.redis(), prefix=settings.LANYARD.redis.prefix, subscription_id=subscription_id)
    except redis.RedisError as error:
        store_away(Store.REDIS, error)
        raise ChangeRefused("Resubscribing is not possible for a few minutes; nothing was changed.") from error
    return subscription_resubscribe(stores.engine(alias), subscription_id=subscription_id, via=VIA)
