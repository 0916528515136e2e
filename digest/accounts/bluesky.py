"""Bluesky (AT Protocol) on the public AppView: no sign-in needed for public follows.

A handle is resolved to its DID (``com.atproto.identity.resolveHandle``), the stable id;
the profile (``app.bsky.actor.getProfile``) gives the current handle and the follows
count; the list is ``app.bsky.graph.getFollows?actor=&limit=100&cursor=`` in cursor
pages. The AppView limits requests per IP address, for all users together: the rate
limit handling of ``api.py`` applies, and a refresh spreads its accounts over the day.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from digest.accounts.api import ApiStatus, JsonApi
from digest.accounts.errors import AccountNotFound, BadAnswer
from digest.accounts.paging import cursor_pages, field_ids
from digest.accounts.sources import DID
from digest.accounts.values import Identity, Page, SourceRef
from digest.vocabulary import Provider

PAGE_SIZE = 100
XRPC = "/xrpc/"


class Bluesky:
    provider = Provider.BLUESKY

    def __init__(self, api: JsonApi, appview_url: str):
        self.api, self.base = api, appview_url.rstrip("/") + XRPC

    def identity(self, ref: SourceRef, *, token: str = "") -> Identity:
        did = ref.name if DID.fullmatch(ref.name) else self._resolve(ref.name)
        return self._profile(did, ref.name)

    def identity_again(self, *, external_id: str, handle: str, profile_url: str, token: str = "") -> Identity:
        return self._profile(external_id, handle)

    def following(self, identity: Identity, *, token: str = "", etag: str = "") -> Iterator[Page]:
        first = f"{self.base}app.bsky.graph.getFollows?actor={quote(identity.external_id)}&limit={PAGE_SIZE}"

        def url_for(cursor: str) -> str:
            return f"{first}&cursor={quote(cursor)}" if cursor else first

        return cursor_pages(self.api, url_for, ids_of=self._ids)

    def _resolve(self, handle: str) -> str:
        try:
            data = self.api.get(f"{self.base}com.atproto.identity.resolveHandle?handle={quote(handle)}",
                                what=handle).data
        except ApiStatus as error:
            if error.status in (400, 404):
                raise AccountNotFound(f"the Bluesky handle {handle} resolves to nothing") from None
            raise
        did = data.get("did") if isinstance(data, dict) else None
        if not isinstance(did, str) or not DID.fullmatch(did):
            raise BadAnswer(f"{self.api.name} ({handle}) did not send a DID")
        return did

    def _profile(self, did: str, label: str) -> Identity:
        try:
            data = self.api.get(f"{self.base}app.bsky.actor.getProfile?actor={quote(did)}", what=label).data
        except ApiStatus as error:
            if error.status in (400, 404):
                raise AccountNotFound(f"Bluesky has no account {label}") from None
            raise
        if not isinstance(data, dict) or data.get("did") != did or not isinstance(data.get("handle"), str):
            raise BadAnswer(f"{self.api.name} ({label}) did not send the profile of {did}")
        count = data.get("followsCount")
        return Identity(
            provider=Provider.BLUESKY, external_id=did, handle=data["handle"][:300],
            profile_url=f"https://bsky.app/profile/{data['handle']}"[:500],
            following_count=count if isinstance(count, int) else None, api_id=did,
        )

    def _ids(self, data: Any, what: str) -> tuple[str, ...]:
        follows = data.get("follows") if isinstance(data, dict) else None
        return field_ids(follows, what, name=self.api.name, key=lambda item: item.get("did"))
