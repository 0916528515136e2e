"""SOURCE strings, as typed on the command line or into a form, parsed without any request.

``github:LOGIN``, ``bluesky:HANDLE`` or ``bluesky:did:plc:…``, ``mastodon:@user@server``
(or ``mastodon:user@server``), or a Mastodon profile URL (``https://server/@user``).
The Mastodon server of ``@user@server`` is spoken to over https; a profile URL keeps
its own scheme and port.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from digest.accounts.errors import BadSource
from digest.accounts.values import SourceRef
from digest.vocabulary import Provider

FORMS = "github:LOGIN, bluesky:HANDLE_OR_DID, mastodon:@user@server or a Mastodon profile URL"
# GitHub: 1-39 characters, letters, digits and single hyphens, not at either end.
GITHUB_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{1,63}(?::\d{1,5})?")
# A handle is a domain name; a DID is did:plc:… or did:web:….
BLUESKY_HANDLE = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]{0,62}")
DID = re.compile(r"did:(?:plc:[a-z2-7]{24}|web:[A-Za-z0-9.:%-]{1,253})")
MASTODON_USER = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9_])?")


def source_parse(text: str) -> SourceRef:
    """The account a SOURCE names; :class:`BadSource` with the accepted forms when it names none."""
    text = text.strip()
    if text.startswith(("http://", "https://")):
        return _mastodon_url(text)
    kind, colon, rest = text.partition(":")
    kind = kind.lower()
    if not colon or kind not in {p.value for p in Provider}:
        raise BadSource(f"not a source: {text[:80]!r} (use {FORMS})")
    if kind == Provider.GITHUB:
        login = rest.removeprefix("@")
        if not GITHUB_LOGIN.fullmatch(login):
            raise BadSource(f"not a GitHub login: {rest[:80]!r}")
        return SourceRef(Provider.GITHUB, login)
    if kind == Provider.BLUESKY:
        name = rest.removeprefix("@")
        if DID.fullmatch(name):
            return SourceRef(Provider.BLUESKY, name)
        if not BLUESKY_HANDLE.fullmatch(name) or len(name) > 253:
            raise BadSource(f"not a Bluesky handle or DID: {rest[:80]!r} (e.g. alice.bsky.social)")
        return SourceRef(Provider.BLUESKY, name.lower())
    if rest.startswith(("http://", "https://")):
        return _mastodon_url(rest)
    user, at, server = rest.removeprefix("@").partition("@")
    if not at or not MASTODON_USER.fullmatch(user) or not HOST.fullmatch(server):
        raise BadSource(f"not a Mastodon account: {rest[:80]!r} (e.g. mastodon:@alice@mastodon.social)")
    return SourceRef(Provider.MASTODON, user, f"https://{server.lower()}")


def _mastodon_url(url: str) -> SourceRef:
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    user = path.rpartition("/@")[2] if "/@" in path else ""
    if "@" in user:  # a remote account shown by another server: https://a.example/@bob@b.example
        name, _, server = user.partition("@")
        return source_parse(f"mastodon:@{name}@{server}")
    if not parts.hostname or not MASTODON_USER.fullmatch(user) or path.count("/") != 1:
        raise BadSource(f"not a Mastodon profile URL: {url[:80]!r} (e.g. https://mastodon.social/@alice)")
    return SourceRef(Provider.MASTODON, user, f"{parts.scheme}://{parts.netloc.lower()}")
