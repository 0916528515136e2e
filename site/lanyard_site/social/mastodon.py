"""Mastodon's OAuth, by hand over lanyard's guarded HTTP client (``digest/http/``).

By hand rather than through Mastodon.py: the server is whatever a visitor types, so every
request must go through the one client that refuses private addresses, caps sizes and
bounds time (Mastodon.py speaks through its own ``requests`` session), and lanyard needs
only five calls: register the app, the authorize URL, the code exchange, whoami, revoke.
Every failure is a :class:`MastodonRefused` with a one-line reason for the person.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from ipaddress import ip_address
from urllib.parse import urlencode, urlsplit

from digest.http import HttpClient, HttpError
from digest.http.addresses import allowed_by

SCOPES = "read:accounts read:follows"
APP_NAME = "lanyard"
# user@host, @user@host, a host, or an https URL (a profile URL names its server too).
_ACCT = re.compile(r"@?(?P<user>[A-Za-z0-9_.-]+)@(?P<host>[^\s/@]+)")
_HOST = re.compile(r"(?=.{1,253}(?::\d{1,5})?$)[A-Za-z0-9.-]+(?::\d{1,5})?")


class MastodonRefused(ValueError):
    """A Mastodon step that failed; the message says what, for the person."""


@dataclass(frozen=True)
class Registration:
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class MastodonAccount:
    uri: str  # the stable id (ActivityPub actor URI; ``url`` on servers without ``uri``)
    acct: str  # user@domain, for display
    url: str  # the profile page
    api_id: str  # the server's local id, what its list endpoints take


def server_origin(typed: str, *, allow_networks=()) -> str:
    """``https://host[:port]`` of what a person typed: ``mastodon.social``, ``@ada@mastodon.social``,
    ``https://mastodon.social/@ada``. Plain http only for hosts on LANYARD_HTTP_ALLOW_NETWORKS
    (servers on a test machine), so a token never crosses the internet in the clear."""
    text = typed.strip()
    if not text:
        raise MastodonRefused("Type your Mastodon server (e.g. mastodon.social) or address (@you@mastodon.social).")
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise MastodonRefused(f"{typed[:100]!r} is not a server address; type e.g. mastodon.social.")
        host, scheme = parts.netloc.rpartition("@")[2], parts.scheme
    else:
        found = _ACCT.fullmatch(text)
        host, scheme = (found.group("host") if found else text.rstrip("/")), "https"
    if not _HOST.fullmatch(host):
        raise MastodonRefused(f"{typed[:100]!r} is not a server address; type e.g. mastodon.social.")
    host = host.lower()
    if scheme == "http" and not _on_allowed_network(host.partition(":")[0], allow_networks):
        raise MastodonRefused("Only https:// Mastodon servers can be used.")
    return f"{scheme}://{host}"


def _on_allowed_network(host: str, networks) -> bool:
    try:
        return allowed_by(ip_address(host), networks)
    except ValueError:
        return False


def app_register(http: HttpClient, *, origin: str, redirect_uri: str, website: str) -> Registration:
    """``POST /api/v1/apps``: lanyard as an app on this server."""
    data = _json(_call(http, "POST", f"{origin}/api/v1/apps", form={
        "client_name": APP_NAME, "redirect_uris": redirect_uri, "scopes": SCOPES, "website": website,
    }), "registering lanyard")
    client_id, secret = data.get("client_id"), data.get("client_secret")
    if not isinstance(client_id, str) or not isinstance(secret, str) or not client_id or not secret:
        raise MastodonRefused(f"{_host(origin)} did not register lanyard (no client id in its answer).")
    return Registration(client_id, secret)


def authorize_url(*, origin: str, client_id: str, redirect_uri: str, state: str) -> str:
    query = urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
                       "scope": SCOPES, "state": state})
    return f"{origin}/oauth/authorize?{query}"


def code_exchange(http: HttpClient, *, origin: str, registration: Registration, redirect_uri: str, code: str) -> str:
    """``POST /oauth/token``: the access token for an authorization code."""
    data = _json(_call(http, "POST", f"{origin}/oauth/token", form={
        "grant_type": "authorization_code", "code": code, "client_id": registration.client_id,
        "client_secret": registration.client_secret, "redirect_uri": redirect_uri, "scope": SCOPES,
    }), "finishing the sign-in")
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise MastodonRefused(f"{_host(origin)} gave no access token; nothing was changed.")
    return token


def whoami(http: HttpClient, *, origin: str, token: str) -> MastodonAccount:
    """``GET /api/v1/accounts/verify_credentials``: the signed-in account."""
    data = _json(_call(http, "GET", f"{origin}/api/v1/accounts/verify_credentials", token=token),
                 "reading your account")
    url, uri, acct = data.get("url"), data.get("uri") or data.get("url"), data.get("acct")
    if not (isinstance(url, str) and url and isinstance(uri, str) and uri and isinstance(acct, str) and acct):
        raise MastodonRefused(f"{_host(origin)} answered without an account; nothing was changed.")
    if "@" not in acct:  # a local account's acct is its bare username
        acct = f"{acct}@{urlsplit(url).hostname}"
    return MastodonAccount(uri=uri, acct=acct, url=url, api_id=str(data.get("id") or ""))


def token_revoke(http: HttpClient, *, origin: str, registration: Registration, token: str) -> None:
    """``POST /oauth/revoke``: the server forgets the token (an unknown token is revoked already)."""
    _call(http, "POST", f"{origin}/oauth/revoke", form={
        "client_id": registration.client_id, "client_secret": registration.client_secret, "token": token,
    })


def _call(http: HttpClient, method: str, url: str, *, form: dict | None = None, token: str = ""):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        if method == "POST":
            fetched = http.post(url, form=form or {}, headers=headers, accept="application/json")
        else:
            fetched = http.get(url, headers=headers, accept="application/json")
    except HttpError as error:
        raise MastodonRefused(f"{_host(url)} could not be reached ({error.reason}); nothing was changed.") from None
    if fetched.status in (401, 403):
        raise MastodonRefused(f"{_host(url)} refused lanyard's access (HTTP {fetched.status}): the sign-in was "
                              "cancelled or the token revoked; nothing was changed.")
    if fetched.status == 429:
        raise MastodonRefused(f"{_host(url)} asks lanyard to slow down (HTTP 429); try again in a few minutes.")
    if not fetched.ok:
        raise MastodonRefused(f"{_host(url)} answered HTTP {fetched.status}; nothing was changed.")
    return fetched


def _json(fetched, doing: str) -> dict:
    try:
        data = json.loads(fetched.body)
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise MastodonRefused(f"{_host(fetched.url)} answered something that is not Mastodon's API while {doing}.")
    return data


def _host(url: str) -> str:
    return urlsplit(url).netloc or url[:100]
