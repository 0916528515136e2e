"""A Mastodon server's client API and OAuth, as far as lanyard uses them, on loopback.

API (https://docs.joinmastodon.org/methods/accounts/): ``GET /api/v1/accounts/lookup?acct=``,
``GET /api/v1/accounts/:id``, ``GET /api/v1/accounts/verify_credentials`` (token),
``GET /api/v1/accounts/:id/following?limit=`` (up to 80) paged by ``max_id`` with
``Link: <…?max_id=…>; rel="next", <…?since_id=…>; rel="prev"``, and the
``X-RateLimit-Limit/Remaining/Reset`` headers (Reset an ISO 8601 time). Account
entities carry ``id``, ``username``, ``acct`` (``user`` for local accounts,
``user@domain`` for remote ones), ``url``, ``uri``, ``following_count``, and
``suspended`` or ``moved`` when so. Errors are ``{"error": "Record not found"}``.
``pleroma=True`` answers as Pleroma/Akkoma do: no ``uri`` (the ``url`` is the
ActivityPub id), no ``lookup`` (404) but nicknames accepted in place of ids, and 403
for the lists of accounts that hide them.

Apps and OAuth (https://docs.joinmastodon.org/methods/apps/, /methods/oauth/):
``POST /api/v1/apps`` → ``{id, name, website, redirect_uri, client_id, client_secret,
vapid_key}``; ``GET /oauth/authorize`` approves at once as ``signed_in`` and redirects
with ``code`` and ``state``; ``POST /oauth/token`` → ``{access_token, token_type:
"Bearer", scope, created_at}`` or 400 ``invalid_grant``; ``POST /oauth/revoke`` → ``{}``.
Profile pages ``GET /@user`` are HTML with the account's ``rel="me"`` fields.
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from tests.standins.server import Request, Response, StandIn, html_response, json_response, redirect

_ids = itertools.count(109_000_000_000_000_001)


@dataclass
class Account:
    username: str
    id: str
    following: Sequence[str] = field(default_factory=list)  # URIs of accounts, local or remote
    links: list[str] = field(default_factory=list)  # profile fields, rendered with rel="me"
    suspended: bool = False
    moved_to: str = ""  # acct of the new account
    hides_follows: bool = False


class MastodonStandIn(StandIn):
    def __init__(self, *, pleroma: bool = False) -> None:
        super().__init__()
        self.pleroma = pleroma
        self.accounts: dict[str, Account] = {}
        self.tokens: dict[str, str] = {}  # token → username
        self.apps: dict[str, dict] = {}  # client_id → app
        self.codes: dict[str, str] = {}
        self.revoked: list[str] = []
        self.signed_in = ""
        self.rate_remaining = 300
        for pattern, handler in (
            (r"/api/v1/accounts/lookup", self._lookup), (r"/api/v1/accounts/verify_credentials", self._me),
            (r"/api/v1/accounts/(?P<key>[^/]+)", self._account), (r"/oauth/authorize", self._authorize),
            (r"/api/v1/accounts/(?P<key>[^/]+)/following", self._following), (r"/@(?P<username>[^/]+)", self._profile),
        ):
            self.route("GET", pattern, handler)
        for pattern, handler in ((r"/api/v1/apps", self._apps), (r"/oauth/token", self._token),
                                 (r"/oauth/revoke", self._revoke)):
            self.route("POST", pattern, handler)

    @property
    def domain(self) -> str:
        return self.base_url.partition("://")[2]

    def uri(self, username: str) -> str:
        return f"{self.base_url}/users/{username}"

    def add_account(self, username: str, *, following: Sequence[str] = (), **values: object) -> Account:
        account = Account(username, str(next(_ids)), list(following) if isinstance(following, list) else following,
                          **values)  # type: ignore[arg-type]
        self.accounts[username.lower()] = account
        return account

    def token_for(self, username: str) -> str:
        token = secrets.token_urlsafe(32)
        self.tokens[token] = username
        return token

    def _headers(self) -> dict[str, str]:
        self.rate_remaining = max(self.rate_remaining - 1, 0)
        reset = dt.datetime.fromtimestamp(time.time() + 300, dt.UTC).isoformat(timespec="milliseconds")
        return {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": str(self.rate_remaining),
                "X-RateLimit-Reset": reset.replace("+00:00", "Z")}

    def _json(self, account: Account) -> dict:
        data = {"id": account.id, "username": account.username, "acct": account.username,
                "display_name": account.username.title(), "url": f"{self.base_url}/@{account.username}",
                "following_count": len(account.following), "followers_count": 0, "note": ""}
        if self.pleroma:
            data["url"] = self.uri(account.username)
            data["pleroma"] = {"hide_follows": account.hides_follows}
        else:
            data["uri"] = self.uri(account.username)
        if account.suspended:
            data["suspended"] = True
        if account.moved_to:
            data["moved"] = {"id": "1", "username": account.moved_to.partition("@")[0], "acct": account.moved_to}
        return data

    def _not_found(self) -> Response:
        return json_response({"error": "Record not found"}, 404)

    def _lookup(self, request: Request) -> Response:
        if self.pleroma:
            return self._not_found()
        account = self.accounts.get(request.query.get("acct", "").lower())
        return json_response(self._json(account), headers=self._headers()) if account else self._not_found()

    def _find(self, key: str) -> Account | None:
        by_id = next((a for a in self.accounts.values() if a.id == key), None)
        return by_id or (self.accounts.get(key.lower()) if self.pleroma else None)

    def _account(self, request: Request, key: str) -> Response:
        account = self._find(key)
        return json_response(self._json(account), headers=self._headers()) if account else self._not_found()

    def _me(self, request: Request) -> Response:
        username = self.tokens.get(request.bearer())
        if username is None:
            return json_response({"error": "The access token is invalid"}, 401)
        return json_response(self._json(self.accounts[username.lower()]), headers=self._headers())

    def _following(self, request: Request, key: str) -> Response:
        account = self._find(key)
        if account is None:
            return self._not_found()
        if self.pleroma and account.hides_follows:
            return json_response({"error": "Can't get following"}, 403)
        size = min(int(request.query.get("limit", "40")), 80)
        start = int(request.query.get("max_id", "0"))
        fault = self.faults.page(start // size + 1)
        if fault is not None:
            return fault
        uris = account.following[start:start + size]
        items = [{"id": str(1000 + start + n), "username": u.rpartition("/")[2], "acct": _acct(u, self.domain),
                  **({"url": u} if self.pleroma else {"url": u.replace("/users/", "/@"), "uri": u})}
                 for n, u in enumerate(uris)]
        headers = self._headers()
        url = f"{request.base}/api/v1/accounts/{key}/following"
        if start + size < len(account.following):
            following = 0 if start // size + 1 == self.faults.loop_page else start + size
            headers["Link"] = (f'<{url}?{urlencode({"limit": size, "max_id": following})}>; rel="next", '
                               f'<{url}?{urlencode({"limit": size, "since_id": start})}>; rel="prev"')
        return json_response(items, headers=headers)

    def _profile(self, request: Request, username: str) -> Response:
        account = self.accounts.get(username.lower())
        if account is None:
            return html_response("<h1>The page you are looking for isn't here.</h1>", 404)
        fields = "".join(f'<dd><a href="{html.escape(link)}" rel="nofollow noopener me" target="_blank">'
                         f"{html.escape(link)}</a></dd>" for link in account.links)
        return html_response(f"<!doctype html><html><head><title>{username}</title></head>"
                             f"<body><h1>@{username}</h1><dl>{fields}</dl></body></html>")

    def _apps(self, request: Request) -> Response:
        if not request.form.get("client_name") or not request.form.get("redirect_uris"):
            return json_response({"error": "Validation failed: Application name can't be blank"}, 422)
        app = {"id": str(len(self.apps) + 1), "name": request.form["client_name"],
               "website": request.form.get("website") or None, "redirect_uri": request.form["redirect_uris"],
               "client_id": secrets.token_urlsafe(32), "client_secret": secrets.token_urlsafe(32),
               "vapid_key": "BCk-QqERU0q-CfYZjcuB6lnyyOYfJ2AifKqfeGIm7Z-HiTU5T9eTG5GxVA0_OH5mMlI4UkkDTpaZwozy0TzdZ2M="}
        self.apps[app["client_id"]] = app
        return json_response(app)

    def _authorize(self, request: Request) -> Response:
        if request.query.get("client_id") not in self.apps:
            return html_response("<p>Client authentication failed due to unknown client.</p>", 401)
        code = secrets.token_urlsafe(16)
        self.codes[code] = self.signed_in
        query = urlencode({"code": code, "state": request.query.get("state", "")})
        return redirect(f"{request.query['redirect_uri']}?{query}")

    def _token(self, request: Request) -> Response:
        username = self.codes.pop(request.form.get("code", ""), None)
        if username is None or request.form.get("client_id") not in self.apps:
            return json_response({"error": "invalid_grant", "error_description": "The provided authorization grant "
                                  "is invalid, expired, revoked, does not match the redirection URI used in the "
                                  "authorization request, or was issued to another client."}, 400)
        return json_response({"access_token": self.token_for(username), "token_type": "Bearer",
                              "scope": request.form.get("scope", "read"), "created_at": int(time.time())})

    def _revoke(self, request: Request) -> Response:
        token = request.form.get("token", "")
        self.tokens.pop(token, None)
        self.revoked.append(token)
        return json_response({})


def _acct(uri: str, domain: str) -> str:
    server, _, username = uri.partition("://")[2].partition("/users/")
    return username if server == domain else f"{username}@{server}"
