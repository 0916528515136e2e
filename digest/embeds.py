"""Which coverage links the site shows as embedded players: an allow-list of providers.

A provider recognises its own URLs and extracts the one thing that matters, the video's
id; the site then renders *its own* iframe for that id on the provider's player origin.
Nothing from the stored URL but the id (checked against a strict pattern) reaches the
page, and the Content-Security-Policy's ``frame-src`` names exactly
:data:`FRAME_ORIGINS`. To add a provider, write one more :class:`Provider` and append it
to :data:`PROVIDERS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from .weburls import web_url


@dataclass(frozen=True, slots=True)
class Embed:
    provider: str  # the provider's name, e.g. "YouTube"
    id: str
    src: str  # the iframe's URL, on the provider's player origin


class Provider:
    """One allowed provider: its name, the hosts of its links, its player's origin."""

    name: str
    hosts: frozenset[str]
    origin: str  # scheme://host of the iframe (the CSP frame-src entry)

    def video_id(self, host: str, path: str, query: dict[str, list[str]]) -> str | None:
        raise NotImplementedError

    def frame_url(self, video_id: str) -> str:
        raise NotImplementedError


class YouTube(Provider):
    name = "YouTube"
    hosts = frozenset({"youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be", "www.youtube-nocookie.com"})
    origin = "https://www.youtube-nocookie.com"  # the player that sets no cookie until played
    _ID = re.compile(r"[A-Za-z0-9_-]{11}")
    _PATH = re.compile(r"^/(?:embed|shorts|live|v)/([^/]+)")

    def video_id(self, host, path, query):
        if host == "youtu.be":
            candidate = path.strip("/").split("/")[0]
        elif path == "/watch":
            candidate = (query.get("v") or [""])[0]
        else:
            match = self._PATH.match(path)
            candidate = match.group(1) if match else ""
        return candidate if self._ID.fullmatch(candidate) else None

    def frame_url(self, video_id):
        return f"{self.origin}/embed/{video_id}"


class Vimeo(Provider):
    name = "Vimeo"
    hosts = frozenset({"vimeo.com", "www.vimeo.com", "player.vimeo.com"})
    origin = "https://player.vimeo.com"
    _PATH = re.compile(r"^/(?:video/|channels/[\w-]+/|groups/[\w-]+/videos/)?(\d{1,12})/?$")

    def video_id(self, host, path, query):
        match = self._PATH.match(path)
        return match.group(1) if match else None

    def frame_url(self, video_id):
        return f"{self.origin}/video/{video_id}"


PROVIDERS: tuple[Provider, ...] = (YouTube(), Vimeo())
FRAME_ORIGINS: tuple[str, ...] = tuple(provider.origin for provider in PROVIDERS)


def embed_for(url: str | None) -> Embed | None:
    """The embed for a link to an allowed provider's video, else None."""
    checked = web_url(url)
    if checked is None:
        return None
    parts = urlsplit(checked)
    host = (parts.hostname or "").lower()
    for provider in PROVIDERS:
        if host in provider.hosts:
            video_id = provider.video_id(host, parts.path, parse_qs(parts.query))
            if video_id:
                return Embed(provider=provider.name, id=video_id, src=provider.frame_url(video_id))
    return None
