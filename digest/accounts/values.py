"""Plain values passed between the providers' clients and the services."""

from __future__ import annotations

from dataclasses import dataclass, field

from digest.vocabulary import Provider


@dataclass(frozen=True)
class SourceRef:
    """What a SOURCE names, before any request: a provider and the name to look up there.

    ``server`` is a Mastodon account's server origin (``https://mastodon.social``); ``name``
    is a GitHub login, a Mastodon username, a Bluesky handle or DID.
    """

    provider: Provider
    name: str
    server: str = ""

    def __str__(self) -> str:
        if self.provider is Provider.MASTODON:
            return f"mastodon:@{self.name}@{self.server.partition('://')[2]}"
        return f"{self.provider}:{self.name}"


@dataclass(frozen=True)
class Identity:
    """An account as its provider describes it now, keyed by its stable id."""

    provider: Provider
    external_id: str  # GitHub numeric id, Mastodon URI, Bluesky DID
    handle: str  # login, user@domain, bsky handle: for display, may change
    profile_url: str
    following_count: int | None = None  # what the provider says; None: not said
    api_id: str = ""  # what the provider's list endpoint takes (Mastodon's local id, GitHub's login)
    links: tuple[str, ...] = field(default=())  # URLs the profile claims (GitHub's blog field)


@dataclass(frozen=True)
class Page:
    """One page of a follow list: the stable ids on it."""

    ids: tuple[str, ...]
    number: int
    etag: str = ""  # the first page's, for the next refresh's If-None-Match
    not_modified: bool = False  # the first page answered 304 (then it is the only page)


@dataclass
class ImportResult:
    """What one import did, in the counts the CLI prints."""

    handle: str
    fetched: int = 0  # accounts in the list as fetched (after the cap)
    matched: int = 0  # of them, lanyard people's
    added: int = 0  # follow rows made
    removed: int = 0  # follow rows removed
    capped: bool = False
    unchanged: bool = False  # the provider said 304: the list is as it was

    @property
    def changed(self) -> int:
        return self.added + self.removed
