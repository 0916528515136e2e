"""The Bluesky AppView's public XRPC methods lanyard uses, and a handle's own domain, on loopback.

XRPC (https://docs.bsky.app/docs/api/): ``com.atproto.identity.resolveHandle?handle=``
→ ``{"did"}`` or 400 ``{"error": "InvalidRequest", "message": "Unable to resolve
handle"}``; ``app.bsky.actor.getProfile?actor=`` → ``{did, handle, displayName,
followsCount, …}`` or 400 ``Profile not found``; ``app.bsky.graph.getFollows?actor=&limit=&cursor=``
(limit up to 100) → ``{subject, follows: [{did, handle, …}], cursor}`` (no cursor on
the last page). Rate limit headers as the AppView sends them: ``RateLimit-Limit``,
``RateLimit-Remaining``, ``RateLimit-Reset`` (epoch seconds), ``RateLimit-Policy``.

A handle's own domain: ``GET /.well-known/atproto-did`` (text/plain, the DID) and its
home page ``GET /`` with ``rel="me"`` links (``domain_did`` and ``home_links``).
"""

from __future__ import annotations

import base64
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from tests.standins.server import Request, Response, StandIn, html_response, json_response

_numbers = itertools.count(1)


def make_did(n: int | None = None) -> str:
    """A did:plc of the right shape (24 base32 characters)."""
    number = next(_numbers) if n is None else n
    return "did:plc:" + base64.b32encode(number.to_bytes(15, "big")).decode().lower()[:24]


@dataclass
class Profile:
    did: str
    handle: str
    follows: Sequence[str] = field(default_factory=list)  # DIDs


class BlueskyStandIn(StandIn):
    def __init__(self) -> None:
        super().__init__()
        self.profiles: dict[str, Profile] = {}  # did → profile
        self.domain_did = ""  # what /.well-known/atproto-did answers ("" → 404)
        self.home_links: list[str] = []
        for pattern, handler in (
            (r"/xrpc/com\.atproto\.identity\.resolveHandle", self._resolve),
            (r"/xrpc/app\.bsky\.actor\.getProfile", self._profile),
            (r"/xrpc/app\.bsky\.graph\.getFollows", self._follows),
            (r"/\.well-known/atproto-did", self._well_known), (r"/", self._home),
        ):
            self.route("GET", pattern, handler)

    def add_profile(self, handle: str, *, follows: Sequence[str] = (), did: str = "") -> Profile:
        profile = Profile(did or make_did(), handle, list(follows) if isinstance(follows, list) else follows)
        self.profiles[profile.did] = profile
        return profile

    def _headers(self) -> dict[str, str]:
        return {"RateLimit-Limit": "3000", "RateLimit-Remaining": "2999",
                "RateLimit-Reset": str(int(time.time()) + 300), "RateLimit-Policy": "3000;w=300"}

    def _bad(self, message: str) -> Response:
        return json_response({"error": "InvalidRequest", "message": message}, 400, self._headers())

    def _resolve(self, request: Request) -> Response:
        handle = request.query.get("handle", "").lower()
        found = next((p for p in self.profiles.values() if p.handle == handle), None)
        return json_response({"did": found.did}, headers=self._headers()) if found else self._bad(
            "Unable to resolve handle")

    def _view(self, profile: Profile) -> dict:
        return {"did": profile.did, "handle": profile.handle, "displayName": profile.handle.split(".")[0].title(),
                "followsCount": len(profile.follows), "followersCount": 0, "postsCount": 0,
                "indexedAt": "2026-01-01T00:00:00.000Z"}

    def _actor(self, request: Request) -> Profile | None:
        actor = request.query.get("actor", "")
        return self.profiles.get(actor) or next((p for p in self.profiles.values() if p.handle == actor), None)

    def _profile(self, request: Request) -> Response:
        profile = self._actor(request)
        return json_response(self._view(profile), headers=self._headers()) if profile else self._bad(
            "Profile not found")

    def _follows(self, request: Request) -> Response:
        profile = self._actor(request)
        if profile is None:
            return self._bad("Profile not found")
        size = min(int(request.query.get("limit", "50")), 100)
        start = int(request.query.get("cursor") or 0)
        fault = self.faults.page(start // size + 1)
        if fault is not None:
            return fault
        dids = profile.follows[start:start + size]
        known = {p.did: p.handle for p in self.profiles.values()}
        body: dict = {"subject": self._view(profile),
                      "follows": [{"did": d, "handle": known.get(d, f"{d[8:16]}.bsky.social")} for d in dids]}
        if start + size < len(profile.follows):
            body["cursor"] = "0" if start // size + 1 == self.faults.loop_page else str(start + size)
        return json_response(body, headers=self._headers())

    def _well_known(self, request: Request) -> Response:
        if not self.domain_did:
            return Response(404, b"not found", {"Content-Type": "text/plain"})
        return Response(200, self.domain_did.encode(), {"Content-Type": "text/plain"})

    def _home(self, request: Request) -> Response:
        links = "".join(f'<a rel="me" href="{link}">me</a>' for link in self.home_links)
        return html_response(f"<!doctype html><title>home</title><p>{links}</p>")
