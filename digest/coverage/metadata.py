"""What a link is: oEmbed, else OpenGraph, else ``<title>``; all through the guarded client.

For a link on a known provider's site (``digest/embeds.py``: YouTube, Vimeo, SlideShare,
Speaker Deck) its oEmbed endpoint is asked first. Otherwise the page is fetched and read
for an oEmbed discovery link (``<link rel="alternate" type="application/json+oembed">``),
OpenGraph properties and its ``<title>``. An embed is recognised only when the oEmbed
``html`` holds an iframe whose src is one of the allowed providers' players, or when
the link itself is a YouTube or Vimeo URL; what is kept is the provider's name and the
id, checked against the provider's pattern. Titles are decoded by the page's charset,
stripped of control characters and capped.
"""

from __future__ import annotations

import codecs
import json
import re
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from digest.coverage.values import Metadata
from digest.embeds import PROVIDERS, EmbedProvider, provider_for
from digest.http import Failed, Fetched, HttpClient, HttpError, Refused
from digest.vocabulary import CoverageKind

TITLE_LENGTH = 300
URL_LENGTH = 500
OEMBED_TYPES = ("application/json+oembed", "text/json+oembed")
# WHATWG: these labels mean windows-1252 (a superset that browsers use for them).
WINDOWS_1252 = frozenset({"iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "us-ascii", "ascii", "cp819"})
SLIDE_TYPES = frozenset({
    "application/pdf", "application/vnd.ms-powerpoint", "application/vnd.apple.keynote",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
})


@dataclass
class Page:
    """What the HTML parser found in a page."""

    title: str = ""
    meta: dict[str, str] = field(default_factory=dict)  # og:title, og:type, og:image, …
    oembed: str = ""  # the discovery link's href, as written
    charset: str = ""  # a <meta charset> or http-equiv charset


@dataclass(frozen=True)
class OEmbed:
    type: str = ""
    title: str = ""
    thumbnail_url: str = ""
    html: str = ""  # read for an allowed iframe src only, never stored


def fetch_metadata(client: HttpClient, url: str, *, etag: str = "", last_modified: str = "") -> Metadata:
    """Everything lanyard keeps about ``url``; raises HttpError when the link cannot be read."""
    provider = provider_for(url)
    if provider is not None:
        try:
            answer = client.get(provider.oembed_url(url), etag=etag, last_modified=last_modified,
                                accept="application/json")
        except Refused:
            raise
        except HttpError:
            answer = None  # the endpoint is away: the page itself may still say enough
        if answer is not None and answer.not_modified:
            return Metadata(url=url, title="", kind="", not_modified=True)
        oembed = parse_oembed(answer.body) if answer is not None and answer.ok else None
        if answer is not None and oembed is not None:
            return _metadata(url, _Sources(provider, oembed, None, answer, final=url))
    fetched = client.get(url, etag=etag, last_modified=last_modified)
    if fetched.not_modified:
        return Metadata(url=fetched.url, title="", kind="", not_modified=True)
    if not fetched.ok:
        raise Failed(f"HTTP {fetched.status}", temporary=fetched.status >= 500 or fetched.status == 429)
    page = None
    oembed = None
    if fetched.media_type in ("text/html", "application/xhtml+xml"):
        page = parse_page(decode_html(fetched.body, fetched.charset))
        href = _absolute(page.oembed, fetched.url)
        if href:
            try:
                discovered = client.get(href, accept="application/json")
            except HttpError:
                discovered = None  # a broken oEmbed endpoint: OpenGraph and <title> still answer
            if discovered is not None and discovered.ok:
                oembed = parse_oembed(discovered.body)
    return _metadata(url, _Sources(provider, oembed, page, fetched, final=fetched.url))


@dataclass(frozen=True)
class _Sources:
    """What one link's fetch read: the provider it is on, its oEmbed, its page."""

    provider: EmbedProvider | None
    oembed: OEmbed | None
    page: Page | None
    fetched: Fetched  # what the validators (ETag, Last-Modified) come from
    final: str  # the link after redirects


def _metadata(url: str, sources: _Sources) -> Metadata:
    provider, oembed, page, fetched, final = (sources.provider, sources.oembed, sources.page, sources.fetched,
                                              sources.final)
    found_provider, embed_id = _embed(url, provider, oembed)
    meta = page.meta if page is not None else {}
    title = next((t for t in (clean_text(oembed.title if oembed else ""), clean_text(meta.get("og:title", "")),
                              clean_text(page.title if page else "")) if t), url[:TITLE_LENGTH])
    thumbnail = next((t for t in (_absolute(oembed.thumbnail_url if oembed else "", final),
                                  _absolute(meta.get("og:image", ""), final)) if t), "")
    return Metadata(
        url=final, title=title, kind=_kind(found_provider, oembed, meta, fetched.media_type),
        provider=found_provider.name if found_provider else "", embed_id=embed_id, thumbnail_url=thumbnail,
        etag=fetched.etag[:200], last_modified=fetched.last_modified[:64],
    )


def _embed(url: str, provider: EmbedProvider | None, oembed: OEmbed | None) -> tuple[EmbedProvider | None, str]:
    """The allowed provider and id to embed, from the oEmbed html's iframe or the link itself."""
    if oembed is not None and oembed.html:
        for src in re.findall(r"""<iframe\b[^>]*?\bsrc\s*=\s*["']([^"'<>]+)["']""", oembed.html, re.IGNORECASE):
            for candidate in PROVIDERS.values():
                embed_id = candidate.id_from_player(src.strip())
                if embed_id:
                    return candidate, embed_id
    if provider is not None:
        embed_id = provider.id_from_page(url)
        if embed_id:
            return provider, embed_id
    return None, ""


def _kind(provider: EmbedProvider | None, oembed: OEmbed | None, meta: dict[str, str], media_type: str) -> str:
    if provider is not None:
        return provider.kind
    if (oembed is not None and oembed.type == "video") or meta.get("og:type", "").startswith("video"):
        return CoverageKind.VIDEO
    if media_type in SLIDE_TYPES:
        return CoverageKind.SLIDES
    if media_type.startswith("video/"):
        return CoverageKind.VIDEO
    return CoverageKind.WRITEUP


def parse_oembed(body: bytes) -> OEmbed | None:
    """An oEmbed JSON answer, or None when it is not one (malformed, not an object)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None

    def text(name: str) -> str:
        value = data.get(name)
        return value if isinstance(value, str) else ""

    return OEmbed(type=text("type"), title=text("title"), thumbnail_url=text("thumbnail_url"), html=text("html"))


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._in_title = False
        self._title: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): (value or "") for name, value in attrs}
        if tag == "title" and not self.page.title:
            self._in_title = True
        elif tag == "meta":
            key = (values.get("property") or values.get("name") or "").strip().lower()
            if key.startswith(("og:", "twitter:")) and key not in self.page.meta:
                self.page.meta[key] = values.get("content", "")
            if "charset" in values and not self.page.charset:
                self.page.charset = values["charset"].strip().lower()
            elif values.get("http-equiv", "").lower() == "content-type" and not self.page.charset:
                found = re.search(r"charset=([\w.:-]+)", values.get("content", ""), re.IGNORECASE)
                self.page.charset = found.group(1).lower() if found else ""
        elif tag == "link" and not self.page.oembed:
            rels = values.get("rel", "").lower().split()
            if "alternate" in rels and values.get("type", "").strip().lower() in OEMBED_TYPES:
                self.page.oembed = values.get("href", "").strip()

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._in_title:
            self._in_title = False
            self.page.title = "".join(self._title)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._title.append(data)

    def result(self) -> Page:
        if self._in_title and not self.page.title:  # an unclosed <title>
            self.page.title = "".join(self._title)
        return self.page


def parse_page(html: str) -> Page:
    parser = _PageParser()
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):  # html.parser gives up on some broken markup; keep what it found
        pass
    return parser.result()


def decode_html(body: bytes, charset: str) -> str:
    """The page as text: its Content-Type charset, else a BOM, a <meta> charset, UTF-8, windows-1252."""
    for label in (charset, _bom(body), _meta_charset(body)):
        codec = _codec(label)
        if codec:
            return body.decode(codec, errors="replace")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("cp1252", errors="replace")


def _codec(label: str) -> str:
    label = (label or "").strip().lower()
    if not label:
        return ""
    if label in WINDOWS_1252:
        return "cp1252"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return ""


def _bom(body: bytes) -> str:
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if body.startswith(bom):
            return name
    return ""


def _meta_charset(body: bytes) -> str:
    found = re.search(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", body[:4096], re.IGNORECASE)
    return found.group(1).decode("ascii").lower() if found else ""


def clean_text(value: str, limit: int = TITLE_LENGTH) -> str:
    """One line of printable text: control and format characters dropped, spaces collapsed."""
    kept = "".join(" " if ch.isspace() else ch for ch in value if ch.isspace() or unicodedata.category(ch)[0] != "C")
    return " ".join(kept.split())[:limit].strip()


def _absolute(href: str, base: str) -> str:
    """An absolute http(s) URL from ``href`` (relative to ``base``), or "" when it is not one."""
    href = (href or "").strip()
    if not href or len(href) > URL_LENGTH:
        return ""
    try:
        joined = urljoin(base, href)
        parts = urlsplit(joined)
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() or ord(c) < 32 for c in joined):
        return ""
    return joined if len(joined) <= URL_LENGTH else ""
