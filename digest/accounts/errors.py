"""What can go wrong linking an account or importing its follow list: one line each, for a person to read.

Every error leaves the stored follows as they were (a fetch is staged and applied in
one transaction only once every page has arrived).
"""

from __future__ import annotations


class AccountError(Exception):
    """Base: ``str(error)`` is the one-line message."""

    exit_code = 1


class BadSource(AccountError):
    """A SOURCE that names no account: ``github:LOGIN``, ``bluesky:HANDLE_OR_DID``, ``mastodon:@user@server``."""

    exit_code = 2


class AccountNotFound(AccountError):
    """The provider knows no such account (or the Bluesky handle resolves to nothing)."""


class AccountUnusable(AccountError):
    """The account exists but has no list to give: suspended, moved, or hiding whom it follows."""


class AccountTaken(AccountError):
    """The external account is linked to another person already: one account, one person."""


class ProviderUnavailable(AccountError):
    """The provider did not answer usefully: down, timed out, a 5xx, rate limited, a refused address."""

    exit_code = 3


class BadAnswer(ProviderUnavailable):
    """The provider answered something unusable: not JSON, the wrong shape, pages that loop."""


class RateLimited(ProviderUnavailable):
    """Rate limited for longer than we wait."""


class TokenRefused(AccountError):
    """The provider refused the user's token (401): revoked or expired; the user reconnects."""
