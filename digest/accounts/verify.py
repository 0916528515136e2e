"""Proving an account is a person's: a ``rel="me"`` link back to their lanyard page.

- GitHub: the profile's website (``blog``, which GitHub renders with ``rel="me"``) is
  the person page.
- Mastodon: the profile page (HTML, fetched through the guarded client) has an
  ``<a rel="me">`` or ``<link rel="me">`` to the person page (Mastodon's profile fields).
- Bluesky: a handle on the person's own domain: ``https://<handle>/.well-known/atproto-did``
  names the account's DID (the domain is the account's), and the domain's home page
  links to the person page with ``rel="me"`` (the domain is the person's). DNS TXT
  records, the other way to prove a handle, cannot be read through the HTTP client.

A link counts when it is the person page's URL, ignoring the scheme's http/https, a
trailing slash and case of the host.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

from digest.accounts.env import AccountsEnv
from digest.accounts.errors import AccountError
from digest.accounts.values import Identity
from digest.coverage.metadata import decode_html
from digest.http import HttpError
from digest.vocabulary import Provider, VerifiedVia


class NotVerified(AccountError):
    """No back-link to the person page was found."""


def account_verify(env: AccountsEnv, *, identity: Identity, person_handle: str) -> VerifiedVia:
    """How ``identity`` is proven to be the person's; :class:`NotVerified` saying where to put the link."""
    page = env.person_url(person_handle)
    if identity.provider is Provider.GITHUB:
        if any(same_page(link, page) for link in identity.links):
            return VerifiedVia.REL_ME
        raise NotVerified(f"github:{identity.handle}'s website is not {page}; set it there, then verify again")
    if identity.provider is Provider.MASTODON:
        if any(same_page(link, page) for link in _rel_me(env, identity.profile_url)):
            return VerifiedVia.REL_ME
        raise NotVerified(f"@{identity.handle}'s profile has no rel=\"me\" link to {page}; add it, then verify again")
    origin = env.handle_origin(identity.handle)
    did = _text(env, f"{origin}/.well-known/atproto-did")
    if did != identity.external_id:
        raise NotVerified(f"{identity.handle} is not a handle on its own domain ({origin}/.well-known/atproto-did)")
    if any(same_page(link, page) for link in _rel_me(env, f"{origin}/")):
        return VerifiedVia.DOMAIN_HANDLE
    raise NotVerified(f"the home page of {identity.handle} has no rel=\"me\" link to {page}")


def same_page(link: str, page: str) -> bool:
    a, b = urlsplit(link.strip()), urlsplit(page)
    if a.scheme not in ("http", "https") or not a.hostname:
        return False
    return (a.hostname, a.port, a.path.rstrip("/")) == (b.hostname, b.port, b.path.rstrip("/"))


def _rel_me(env: AccountsEnv, url: str) -> list[str]:
    try:
        fetched = env.http.get(url, accept="text/html")
    except HttpError as error:
        raise NotVerified(f"could not read {url}: {error.reason}") from None
    if not fetched.ok:
        raise NotVerified(f"could not read {url}: it answered {fetched.status}")
    parser = _RelMe()
    parser.feed(decode_html(fetched.body, fetched.charset))
    return parser.links


def _text(env: AccountsEnv, url: str) -> str:
    try:
        fetched = env.http.get(url, accept="text/plain")
    except HttpError as error:
        raise NotVerified(f"could not read {url}: {error.reason}") from None
    return fetched.body.decode("utf-8", "replace").strip() if fetched.ok else ""


class _RelMe(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("a", "link"):
            return
        values = {name: value or "" for name, value in attrs}
        if "me" in values.get("rel", "").lower().split() and values.get("href"):
            self.links.append(values["href"])
