"""The absolute URLs an email links to, built in one place so the emails, the
unsubscribe endpoint and the site agree on them."""

from __future__ import annotations

from .config import Settings
from .tokens import SubscriptionRef, TokenSigner

UNSUBSCRIBE_PATH = "/u/"  # + an "unsubscribe" token; served by unsubscribe_web
RESUBSCRIBE_PATH = "/r/"  # + a "resubscribe" token; served by unsubscribe_web
MANAGE_PATH = "/subscriptions/"  # on the site: every subscription of the signed-in person


def unsubscribe_link(settings: Settings, signer: TokenSigner, ref: SubscriptionRef) -> str:
    """The one-click link (also the ``List-Unsubscribe`` header's URL)."""
    return settings.unsubscribe_url + UNSUBSCRIBE_PATH + signer.sign("unsubscribe", ref)


def resubscribe_link(settings: Settings, signer: TokenSigner, ref: SubscriptionRef) -> str:
    return settings.unsubscribe_url + RESUBSCRIBE_PATH + signer.sign("resubscribe", ref)


def manage_link(settings: Settings) -> str:
    return settings.base_url + MANAGE_PATH
