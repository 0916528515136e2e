"""The Mastodon client API, on the account's own server (and Pleroma, Akkoma, GoToSocial).

The account is looked up on its server (``/api/v1/accounts/lookup?acct=``, or
``verify_credentials`` with the user's token); its stable id is its ActivityPub ``uri``
(Mastodon 4.2+; ``url`` where a server sends no ``uri``: older Mastodon, Pleroma and
Akkoma, whose ``url`` is the ActivityPub id). The list is
``/api/v1/accounts/:id/following?limit=80`` in Link-header pages.

Differences handled: Pleroma and Akkoma before ``lookup`` existed take a nickname in
place of the id (``/api/v1/accounts/:nickname``); they answer 403 for an account that
hides whom it follows; a suspended account comes back with ``suspended: true`` (or 410);
a moved account names its new account in ``moved``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

from digest.accounts.api import ApiStatus, JsonApi
from digest.accounts.errors import AccountError, AccountNotFound, AccountUnusable, BadAnswer
from digest.accounts.paging import field_ids, link_pages
from digest.accounts.values import Identity, Page, SourceRef
from digest.vocabulary import Provider

PAGE_SIZE = 80


class Mastodon:
    provider = Provider.MASTODON

    def __init__(self, api: JsonApi):
        self.api = api

    def identity(self, ref: SourceRef, *, token: str = "") -> Identity:
        label = f"@{ref.name}@{_host(ref.server)}"
        if token:
            data = self.api.get(f"{ref.server}/api/v1/accounts/verify_credentials", token=token, what=label).data
        else:
            data = self._lookup(ref.server, ref.name, label)
        return _identity(data, ref.server, label)

    def identity_again(self, *, external_id: str, handle: str, profile_url: str, token: str = "") -> Identity:
        """The linked account, looked up again on its server; it must still be the same account."""
        parts = urlsplit(profile_url)
        server = f"{parts.scheme}://{parts.netloc}"
        identity = self.identity(SourceRef(Provider.MASTODON, handle.partition("@")[0], server), token=token)
        if identity.external_id != external_id:
            raise AccountError(f"@{handle} now names another account ({identity.external_id}); link it again")
        return identity

    def following(self, identity: Identity, *, token: str = "", etag: str = "") -> Iterator[Page]:
        parts = urlsplit(identity.profile_url)
        first = f"{parts.scheme}://{parts.netloc}/api/v1/accounts/{quote(identity.api_id)}/following?limit={PAGE_SIZE}"
        pages = link_pages(self.api, first, token=token, etag=etag, ids_of=self._ids)
        try:
            yield from pages
        except ApiStatus as error:
            if error.status in (401, 403):  # Pleroma/Akkoma: hide_follows
                raise AccountUnusable(f"@{identity.handle} hides whom it follows") from None
            raise

    def _lookup(self, server: str, name: str, label: str) -> Any:
        for url in (f"{server}/api/v1/accounts/lookup?acct={quote(name)}", f"{server}/api/v1/accounts/{quote(name)}"):
            try:
                return self.api.get(url, what=label).data
            except ApiStatus as error:
                if error.status == 410:
                    raise AccountUnusable(f"{label} is suspended") from None
                if error.status != 404:
                    raise
        raise AccountNotFound(f"{_host(server)} has no account {label}")

    def _ids(self, data: Any, what: str) -> tuple[str, ...]:
        return field_ids(data, what, name=self.api.name, key=lambda item: item.get("uri") or item.get("url"))


def _identity(data: Any, server: str, label: str) -> Identity:
    shaped = isinstance(data, dict) and isinstance(data.get("id"), (str, int)) and isinstance(data.get("acct"), str)
    if not shaped:
        raise BadAnswer(f"{_host(server)} ({label}) did not send an account")
    if data.get("suspended"):
        raise AccountUnusable(f"{label} is suspended")
    moved = data.get("moved")
    if moved:
        where = moved.get("acct") if isinstance(moved, dict) else None
        raise AccountUnusable(f"{label} has moved to @{where or 'another account'}; use that account instead")
    external_id = data.get("uri") or data.get("url")
    if not isinstance(external_id, str) or not external_id.startswith(("https://", "http://")):
        raise BadAnswer(f"{_host(server)} ({label}) sent an account without its URI")
    acct = data["acct"] if "@" in data["acct"] else f"{data['acct']}@{_host(server)}"
    count = data.get("following_count")
    return Identity(
        provider=Provider.MASTODON, external_id=external_id[:300], handle=acct[:300],
        profile_url=str(data.get("url") or external_id)[:500],
        following_count=count if isinstance(count, int) else None, api_id=str(data["id"]),
    )


def _host(server: str) -> str:
    return urlsplit(server).netloc
