"""The demo's accounts on GitHub, Mastodon and Bluesky, and the follows that came from importing them.

Deterministic from the seed and the person's id alone (a hash, not the seeder's random
stream, so the rest of the demo is the same with or without them): about 40% of people
have a GitHub account, 30% a Mastodon one, 30% a Bluesky one; a third are verified. A
follow between two people on the same network is, three times in ten, imported from
that network (source github/mastodon/bluesky) instead of made on the site, and the
follower's stored list then names the followee's account, beside two accounts that are
nobody's here (kept by id, as imports keep them).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from digest.vocabulary import Provider, VerifiedVia

PROVIDERS = (Provider.GITHUB, Provider.MASTODON, Provider.BLUESKY)
SERVERS = ("mastodon.social", "fosstodon.org", "hachyderm.io", "chaos.social")
SHARES = {Provider.GITHUB: 4, Provider.MASTODON: 3, Provider.BLUESKY: 3}  # in ten
STRANGERS = 2
VERIFIED_VIA = {Provider.GITHUB: VerifiedVia.OAUTH, Provider.MASTODON: VerifiedVia.REL_ME,
                Provider.BLUESKY: VerifiedVia.DOMAIN_HANDLE}


def _hash(*parts: object) -> int:
    return int.from_bytes(hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest(), "big")


def account_id(person_id: int, provider: Provider) -> int:
    """Explicit, sparse ids: no lookups while the follows are generated."""
    return 3 * (person_id - 1) + PROVIDERS.index(provider) + 1


def external_id(seed: int, person_id: int, provider: Provider) -> str:
    if provider is Provider.GITHUB:
        return str(1_000_000 + person_id)
    if provider is Provider.MASTODON:
        return f"https://{SERVERS[_hash(seed, person_id, 'server') % len(SERVERS)]}/users/p{person_id}"
    digits = _hash(seed, person_id, "did").to_bytes(8, "big") + _hash(seed, person_id, "plc").to_bytes(8, "big")
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    return "did:plc:" + "".join(alphabet[b % 32] for b in (digits + digits)[:24])


@dataclass
class DemoAccounts:
    """Which networks each person is on, and what the follows generator made of them."""

    seed: int
    now: dt.datetime
    listed: dict[int, int] = field(default_factory=dict)  # account id → entries of its stored list

    def on(self, person_id: int) -> tuple[Provider, ...]:
        h = _hash(self.seed, person_id)
        return tuple(p for i, p in enumerate(PROVIDERS) if (h >> (4 * i)) % 10 < SHARES[p])

    def imported(self, follower: int, followee: int) -> Provider | None:
        """The network a follow was imported from, or None (made on the site)."""
        shared = [p for p in self.on(follower) if p in self.on(followee)]
        if not shared or _hash(self.seed, follower, followee) % 10 >= 3:
            return None
        return shared[0]

    def listed_row(self, follower: int, followee: int, provider: Provider) -> dict:
        mine = account_id(follower, provider)
        self.listed[mine] = self.listed.get(mine, 0) + 1
        return {"account_id": mine, "provider": provider.value,
                "external_id": external_id(self.seed, followee, provider)}

    def strangers(self, person_id: int) -> Iterator[dict]:
        for provider in self.on(person_id):
            mine = account_id(person_id, provider)
            for n in range(STRANGERS):
                self.listed[mine] = self.listed.get(mine, 0) + 1
                yield {"account_id": mine, "provider": provider.value,
                       "external_id": external_id(self.seed, 10_000_000 + person_id * STRANGERS + n, provider)}

    def account_rows(self, person_id: int, handle: str) -> Iterator[dict]:
        for provider in self.on(person_id):
            verified = _hash(self.seed, person_id, provider) % 3 == 0
            mine = account_id(person_id, provider)
            shown, profile = _shown(self.seed, person_id, handle, provider)
            yield {
                "id": mine, "person_id": person_id, "provider": provider.value,
                "external_id": external_id(self.seed, person_id, provider), "handle": shown, "profile_url": profile,
                "verified": verified, "verified_via": VERIFIED_VIA[provider].value if verified else "",
                "verified_at": self.now if verified else None, "added_by": "demo", "created_at": self.now,
                "fetched_at": self.now, "fetch_etag": "", "following_count": self.listed.get(mine, 0),
                "following_capped": False, "fetch_error": "", "fetch_error_at": None,
            }


def _shown(seed: int, person_id: int, handle: str, provider: Provider) -> tuple[str, str]:
    """The display handle and the profile URL."""
    if provider is Provider.GITHUB:
        return handle[:39], f"https://github.com/{handle[:39]}"
    if provider is Provider.MASTODON:
        server = external_id(seed, person_id, provider).split("/")[2]
        return f"p{person_id}@{server}", f"https://{server}/@p{person_id}"
    return f"{handle}.bsky.social", f"https://bsky.app/profile/{handle}.bsky.social"
