"""What the accounts services work with: the database, the guarded client, the graph, the APIs' addresses."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import urlsplit

from sqlalchemy import Engine

from digest.accounts.api import JsonApi
from digest.accounts.bluesky import Bluesky
from digest.accounts.github import GitHub
from digest.accounts.mastodon import Mastodon
from digest.config import Settings
from digest.graph.store import Edit, Graph
from digest.http import HttpClient
from digest.vocabulary import Provider

log = logging.getLogger(__name__)

Client = GitHub | Mastodon | Bluesky
EDITS_PER_CALL = 2000  # one Lua call each: Redis stays responsive while a big list lands


def no_throttle(provider: Provider) -> None:
    """The default budget: none beyond each provider's own rate-limit headers."""


def https_origin(handle: str) -> str:
    """Where a Bluesky handle's domain serves ``/.well-known/atproto-did`` and its home page."""
    return f"https://{handle}"


@dataclass(frozen=True)
class AccountsEnv:
    engine: Engine
    http: HttpClient
    graph: Graph
    base_url: str  # the site's, for person pages (rel="me" back-links)
    github_api_url: str = "https://api.github.com"
    bluesky_appview_url: str = "https://public.api.bsky.app"
    sleep: Callable[[float], None] = field(default=time.sleep)  # waiting out rate limits
    handle_origin: Callable[[str], str] = field(default=https_origin)
    # Called before every request to a provider: the site's budget across all workers (the
    # AppView limits per address) may wait, or raise a ProviderUnavailable to stop the import.
    throttle: Callable[[Provider], None] = field(default=no_throttle)

    @classmethod
    def from_settings(cls, settings: Settings, *, engine: Engine, http: HttpClient, graph: Graph) -> AccountsEnv:
        accounts = settings.accounts
        return cls(engine=engine, http=http, graph=graph, base_url=settings.site.base_url,
                   github_api_url=accounts.github_api_url, bluesky_appview_url=accounts.bluesky_appview_url)

    def client(self, provider: Provider, server: str = "") -> Client:
        """The provider's client; a Mastodon client speaks to one server (an origin)."""
        if provider is Provider.GITHUB:
            return GitHub(self._api(self.github_api_url, provider), self.github_api_url)
        if provider is Provider.BLUESKY:
            return Bluesky(self._api(self.bluesky_appview_url, provider), self.bluesky_appview_url)
        return Mastodon(self._api(server, provider))

    def person_url(self, handle: str) -> str:
        return f"{self.base_url}/people/{handle}/"

    def graph_apply(self, edits: Sequence[Edit]) -> None:
        """After a commit: the graph is a copy; a Redis failure is logged, `lanyard graph check` finds it."""
        if not edits:
            return
        try:
            for start in range(0, len(edits), EDITS_PER_CALL):
                self.graph.apply(edits[start:start + EDITS_PER_CALL])
        except Exception:  # never fail a committed change over the denormalised copy
            log.exception("could not update the Redis graph; run `lanyard graph check`")

    def _api(self, url: str, provider: Provider) -> JsonApi:
        return JsonApi(self.http, name=urlsplit(url).netloc or url, sleep=self.sleep,
                       before=partial(self.throttle, provider))
