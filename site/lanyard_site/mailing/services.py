"""Subscription changes made on the site, through the digest core's services.

The core writes the status and the audit row; the suppression set a running batch
checks is updated right after, so an unsubscribe stops mail at once and a resubscribe
lets the person back in (left suppressed, batches would skip them for good).
"""

from django.conf import settings

from digest.subscriptions import (
    subscription_resubscribe,
    subscription_suppress,
    subscription_unsubscribe,
    subscription_unsuppress,
)

from .. import stores

VIA = "site"


def subscription_unsubscribe_on_site(*, subscription_id: int, alias: str) -> bool:
    changed = subscription_unsubscribe(stores.engine(alias), subscription_id=subscription_id, via=VIA)
    subscription_suppress(stores.redis(), prefix=settings.LANYARD.redis_prefix, subscription_id=subscription_id)
    return changed


def subscription_resubscribe_on_site(*, subscription_id: int, alias: str) -> bool:
    changed = subscription_resubscribe(stores.engine(alias), subscription_id=subscription_id, via=VIA)
    subscription_unsuppress(stores.redis(), prefix=settings.LANYARD.redis_prefix, subscription_id=subscription_id)
    return changed
