"""The absolute URLs an email links to, built in one place so the emails, the
unsubscribe endpoint and the site agree on them."""

from __future__ import annotations

from digest.config import Settings
from digest.tokens import SubscriptionRef, TokenSigner
from digest.vocabulary import MANAGE_PATH, UNSUBSCRIBE_PATH, SubscriptionAction


def unsubscribe_link(settings: Settings, signer: TokenSigner, ref: SubscriptionRef) -> str:
    """The one-click link (also the ``List-Unsubscribe`` header's URL)."""
    return settings.site.unsubscribe_url + UNSUBSCRIBE_PATH + signer.sign(SubscriptionAction.UNSUBSCRIBE, ref)


def manage_link(settings: Settings) -> str:
    return settings.site.base_url + MANAGE_PATH
