"""The embed providers lanyard allows, and the CSP ``frame-src`` that names them.

An embed is never HTML from the network: coverage stores a provider name and an id,
and the site renders its own ``<iframe>`` from :meth:`EmbedProvider.src`. An id must
match the provider's pattern, so nothing a page says can reach the markup but a short
run of safe characters. The Content-Security-Policy allows frames from these origins
only (:data:`FRAME_SRC`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit


@dataclass(frozen=True)
class EmbedProvider:
    name: str  # stored in coverage.provider
    label: str  # shown to people
    kind: str  # what its links usually are (a coverage kind)
    hosts: tuple[str, ...]  # page hosts that belong to it (and their subdomains)
    oembed: str  # its oEmbed endpoint (JSON); the page URL goes in ?url=
    id_pattern: str  # a valid embed id, whole
    player: str  # the iframe src, with {id}
    frame_origin: str  # the origin of ``player``, for the CSP
    page_ids: tuple[str, ...] = ()  # regexes finding the id in a page URL (group "id")
    player_ids: tuple[str, ...] = ()  # regexes finding the id in an embed URL (oEmbed html's iframe src)
    aspect: str = "16 / 9"

    def src(self, embed_id: str) -> str | None:
        """The iframe URL for ``embed_id``, or None when it is not a valid id."""
        if not re.fullmatch(self.id_pattern, embed_id or ""):
            return None
        return self.player.format(id=embed_id)

    def owns(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        return any(host == h or host.endswith("." + h) for h in self.hosts)

    def oembed_url(self, url: str) -> str:
        return f"{self.oembed}?{urlencode({'url': url, 'format': 'json'})}"

    def id_from_page(self, url: str) -> str:
        return _first(self.page_ids, url, self.id_pattern)

    def id_from_player(self, src: str) -> str:
        return _first(self.player_ids, src, self.id_pattern)


def _first(patterns: tuple[str, ...], text: str, id_pattern: str) -> str:
    for pattern in patterns:
        found = re.search(pattern, text)
        if found and re.fullmatch(id_pattern, found.group("id")):
            return found.group("id")
    return ""


YOUTUBE = EmbedProvider(
    name="youtube", label="YouTube", kind="video", hosts=("youtube.com", "youtu.be", "youtube-nocookie.com"),
    oembed="https://www.youtube.com/oembed", id_pattern=r"[A-Za-z0-9_-]{11}",
    player="https://www.youtube-nocookie.com/embed/{id}", frame_origin="https://www.youtube-nocookie.com",
    page_ids=(r"[?&]v=(?P<id>[A-Za-z0-9_-]{11})(?:[&#]|$)", r"youtu\.be/(?P<id>[A-Za-z0-9_-]{11})(?:[?#]|$)",
              r"/(?:embed|shorts|live|v)/(?P<id>[A-Za-z0-9_-]{11})(?:[/?#]|$)"),
    player_ids=(r"^https?://(?:www\.)?youtube(?:-nocookie)?\.com/embed/(?P<id>[A-Za-z0-9_-]{11})(?:[?#]|$)",),
)
VIMEO = EmbedProvider(
    name="vimeo", label="Vimeo", kind="video", hosts=("vimeo.com",),
    oembed="https://vimeo.com/api/oembed.json", id_pattern=r"[0-9]{1,12}",
    player="https://player.vimeo.com/video/{id}", frame_origin="https://player.vimeo.com",
    page_ids=(r"^https?://(?:www\.)?vimeo\.com/(?:channels/[^/]+/|video/)?(?P<id>[0-9]{1,12})(?:[/?#]|$)",),
    player_ids=(r"^https?://player\.vimeo\.com/video/(?P<id>[0-9]{1,12})(?:[/?#]|$)",),
)
SLIDESHARE = EmbedProvider(
    name="slideshare", label="SlideShare", kind="slides", hosts=("slideshare.net",),
    oembed="https://www.slideshare.net/api/oembed/2", id_pattern=r"(?:key/)?[A-Za-z0-9]{1,40}",
    player="https://www.slideshare.net/slideshow/embed_code/{id}", frame_origin="https://www.slideshare.net",
    player_ids=(r"^https?://(?:www\.)?slideshare\.net/slideshow/embed_code/(?P<id>(?:key/)?[A-Za-z0-9]{1,40})(?:[/?#]|$)",),
    aspect="4 / 3",
)
SPEAKERDECK = EmbedProvider(
    name="speakerdeck", label="Speaker Deck", kind="slides", hosts=("speakerdeck.com",),
    oembed="https://speakerdeck.com/oembed.json", id_pattern=r"[0-9a-f]{32}",
    player="https://speakerdeck.com/player/{id}", frame_origin="https://speakerdeck.com",
    player_ids=(r"^(?:https?:)?//speakerdeck\.com/player/(?P<id>[0-9a-f]{32})(?:[/?#]|$)",),
    aspect="4 / 3",
)

PROVIDERS: dict[str, EmbedProvider] = {p.name: p for p in (YOUTUBE, VIMEO, SLIDESHARE, SPEAKERDECK)}

# The CSP's frame-src: lanyard's pages may frame these origins and nothing else.
FRAME_SRC: tuple[str, ...] = tuple(dict.fromkeys(p.frame_origin for p in PROVIDERS.values()))


def provider_for(url: str) -> EmbedProvider | None:
    """The provider whose site ``url`` is on, if any."""
    return next((p for p in PROVIDERS.values() if p.owns(url)), None)


def embed_src(provider: str, embed_id: str) -> str | None:
    """lanyard's own iframe URL for stored coverage, or None when it has no valid embed."""
    found = PROVIDERS.get(provider)
    return found.src(embed_id) if found else None

