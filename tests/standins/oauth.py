"""Stand-ins for the sign-in halves of GitHub and Mastodon, on loopback, answering with the
documented shapes (headers included); the follow lists are ``tests/standins``' API stand-ins.

- GitHub's OAuth web flow (docs.github.com, "Authorizing OAuth apps"):
  ``GET /login/oauth/authorize`` (here: the signed-in GitHub user approves at once and is
  sent back with ``code`` and ``state``), ``POST /login/oauth/access_token`` (form or JSON
  by ``Accept``; a bad code is a 200 with ``error=bad_verification_code``, as GitHub does),
  ``GET /api/v3/user`` (GitHub Enterprise's API path, where allauth reads it under
  ``GITHUB_URL``) with ``X-OAuth-Scopes`` and the rate-limit headers.
- Mastodon's OAuth (docs.joinmastodon.org, methods/apps and methods/oauth):
  ``POST /api/v1/apps``, ``GET /oauth/authorize``, ``POST /oauth/token``,
  ``POST /oauth/revoke``, ``GET /api/v1/accounts/verify_credentials``; a revoked token is
  401 ``{"error": "The access token was revoked"}`` from then on.

``down = True`` makes every answer a 503, as a server that is away behind its proxy.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

HOST = "127.0.0.2"  # the address LANYARD_HTTP_ALLOW_NETWORKS lets the guarded client reach
Route = Callable[["Request"], None]


class Request:
    """One request as a route sees it, and how it answers."""

    def __init__(self, handler: BaseHTTPRequestHandler, method: str):
        self.handler = handler
        self.method = method
        parts = urlsplit(handler.path)
        self.path = parts.path
        self.query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.headers = {k.lower(): v for k, v in handler.headers.items()}
        length = int(self.headers.get("content-length") or 0)
        raw = handler.rfile.read(length) if length else b""
        self.form = {k: v[0] for k, v in parse_qs(raw.decode()).items()} if raw else {}

    @property
    def bearer(self) -> str:
        kind, _, value = self.headers.get("authorization", "").partition(" ")
        return value if kind.lower() in ("bearer", "token") else ""

    def send(self, status: int, body: bytes | str | dict | list, *, content_type: str = "application/json; charset=utf-8",
             headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode() if isinstance(body, dict | list) else (
            body.encode() if isinstance(body, str) else body)
        h = self.handler
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(data)

    def redirect(self, location: str) -> None:
        self.send(302, b"", content_type="text/html", headers={"Location": location})


class StandIn:
    """A threaded HTTP server on loopback with routes by (method, path)."""

    def __init__(self, host: str = HOST):
        self.routes: dict[tuple[str, str], Route] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path with query)
        self.down = False
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                owner._handle(self, "GET")

            def do_POST(self):
                owner._handle(self, "POST")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.host, self.port = self.httpd.server_address[:2]
        self.thread = threading.Thread(target=self.httpd.serve_forever, name=type(self).__name__, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        request = Request(handler, method)
        self.requests.append((method, handler.path))
        if self.down:
            request.send(503, "<html><body>503 Service Temporarily Unavailable</body></html>",
                         content_type="text/html")
            return
        route = self.routes.get((method, request.path)) or self.fallback(method, request.path)
        if route is None:
            request.send(404, {"error": "Record not found"})
            return
        try:
            route(request)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def fallback(self, method: str, path: str) -> Route | None:
        """Routes with ids in their paths; subclasses answer them."""
        return None

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _approved_redirect(redirect_uri: str, **params: str) -> str:
    return redirect_uri + ("&" if "?" in redirect_uri else "?") + urlencode(params)


class GitHubOAuth(StandIn):
    """GitHub's OAuth web flow for one OAuth app; ``signed_in`` is the GitHub user at the browser."""

    def __init__(self, *, client_id: str = "lanyard-test-app", client_secret: str = "lanyard-test-secret"):
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        self.signed_in: dict | None = None  # the /user JSON of whoever approves next
        self.codes: dict[str, dict] = {}
        self.tokens: dict[str, dict] = {}
        self.routes.update({
            ("GET", "/login/oauth/authorize"): self.authorize,
            ("POST", "/login/oauth/access_token"): self.access_token,
            ("GET", "/api/v3/user"): self.user,
        })

    def authorize(self, request: Request) -> None:
        if request.query.get("client_id") != self.client_id or self.signed_in is None:
            request.send(404, "<html>Not Found</html>", content_type="text/html")
            return
        code = secrets.token_hex(10)
        self.codes[code] = self.signed_in
        request.redirect(_approved_redirect(request.query["redirect_uri"], code=code,
                                            state=request.query.get("state", "")))

    def access_token(self, request: Request) -> None:
        form = request.form
        user = self.codes.pop(form.get("code", ""), None)
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            answer = {"error": "incorrect_client_credentials",
                      "error_description": "The client_id and/or client_secret passed are incorrect."}
        elif user is None:
            answer = {"error": "bad_verification_code",
                      "error_description": "The code passed is incorrect or expired."}
        else:
            token = "gho_" + secrets.token_hex(18)
            self.tokens[token] = user
            answer = {"access_token": token, "token_type": "bearer", "scope": ""}
        if "application/json" in request.headers.get("accept", ""):
            request.send(200, answer)
        else:
            request.send(200, urlencode(answer), content_type="application/x-www-form-urlencoded; charset=utf-8")

    def user(self, request: Request) -> None:
        found = self.tokens.get(request.bearer)
        limits = {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4999", "X-RateLimit-Used": "1",
                  "X-RateLimit-Resource": "core", "X-GitHub-Media-Type": "github.v3; format=json"}
        if found is None:
            request.send(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest",
                               "status": "401"}, headers=limits)
            return
        request.send(200, found, headers={**limits, "X-OAuth-Scopes": "", "X-Accepted-OAuth-Scopes": ""})


def github_user(login: str, user_id: int, *, name: str = "", email: str | None = None) -> dict:
    """``GET /user`` of a GitHub user (the public fields allauth and lanyard read)."""
    return {
        "login": login, "id": user_id, "node_id": f"MDQ6VXNlcj{user_id}", "type": "User", "site_admin": False,
        "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
        "html_url": f"https://github.com/{login}", "url": f"https://api.github.com/users/{login}",
        "name": name or None, "company": None, "blog": "", "location": None, "email": email, "bio": None,
        "public_repos": 3, "followers": 10, "following": 2, "created_at": "2011-01-25T18:44:36Z",
    }


class MastodonOAuth(StandIn):
    """One Mastodon server's OAuth; ``signed_in`` names the local account at the browser."""

    def __init__(self):
        super().__init__()
        self.apps: dict[str, dict] = {}
        self.codes: dict[str, tuple[str, str]] = {}  # code -> (client_id, username)
        self.tokens: dict[str, str] = {}  # token -> username
        self.revoked: set[str] = set()
        self.accounts: dict[str, dict] = {}  # username -> Account entity
        self.signed_in: str | None = None
        self.deny = False  # the person clicks "Deny" on the authorize page
        self.routes.update({
            ("POST", "/api/v1/apps"): self.register,
            ("GET", "/oauth/authorize"): self.authorize,
            ("POST", "/oauth/token"): self.token,
            ("POST", "/oauth/revoke"): self.revoke,
            ("GET", "/api/v1/accounts/verify_credentials"): self.verify_credentials,
        })

    def add_account(self, username: str, account_id: str, *, display_name: str = "") -> dict:
        url = f"{self.base}/@{username}"
        self.accounts[username] = {
            "id": account_id, "username": username, "acct": username, "display_name": display_name or username,
            "locked": False, "bot": False, "url": url, "uri": f"{self.base}/users/{username}",
            "avatar": f"{self.base}/avatars/original/missing.png", "followers_count": 1, "following_count": 2,
            "statuses_count": 0, "note": "", "fields": [], "created_at": "2023-01-01T00:00:00.000Z",
        }
        return self.accounts[username]

    def register(self, request: Request) -> None:
        form = request.form
        if not form.get("client_name") or not form.get("redirect_uris"):
            request.send(422, {"error": "Validation failed: Name can't be blank, Redirect URI can't be blank"})
            return
        client_id, secret = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        app = {"id": str(len(self.apps) + 1), "name": form["client_name"], "website": form.get("website"),
               "scopes": form.get("scopes", "read").split(), "redirect_uri": form["redirect_uris"],
               "redirect_uris": form["redirect_uris"].split(), "client_id": client_id, "client_secret": secret,
               "vapid_key": "BCk-QqERU0q-CfYZjcuB6lnyyOYfJ2AifKqfeGIm7Z-HiTU5T9eTG5GxVA0_OH5mMlI4UkkDTpaZwozy0TzdZ2M="}
        self.apps[client_id] = app
        request.send(200, app)

    def authorize(self, request: Request) -> None:
        q = request.query
        app = self.apps.get(q.get("client_id", ""))
        if app is None or q.get("redirect_uri") not in app["redirect_uris"]:
            request.send(400, "<html>The redirect uri included is not valid.</html>", content_type="text/html")
            return
        if self.deny:
            request.redirect(_approved_redirect(q["redirect_uri"], error="access_denied",
                                                error_description="The resource owner or authorization server "
                                                                  "denied the request.", state=q.get("state", "")))
            return
        code = secrets.token_urlsafe(32)
        self.codes[code] = (app["client_id"], self.signed_in or "")
        request.redirect(_approved_redirect(q["redirect_uri"], code=code, state=q.get("state", "")))

    def token(self, request: Request) -> None:
        form = request.form
        app = self.apps.get(form.get("client_id", ""))
        found = self.codes.pop(form.get("code", ""), None)
        if app is None or form.get("client_secret") != app["client_secret"]:
            request.send(401, {"error": "invalid_client", "error_description": "Client authentication failed."})
            return
        if found is None or found[0] != app["client_id"] or form.get("redirect_uri") not in app["redirect_uris"]:
            request.send(400, {"error": "invalid_grant", "error_description": "The provided authorization grant "
                                                                              "is invalid, expired, revoked."})
            return
        token = secrets.token_urlsafe(32)
        self.tokens[token] = found[1]
        request.send(200, {"access_token": token, "token_type": "Bearer", "scope": form.get("scope", "read"),
                           "created_at": 1733400000})

    def revoke(self, request: Request) -> None:
        if request.form.get("client_id") not in self.apps:
            request.send(403, {"error": "unauthorized_client"})
            return
        self.revoked.add(request.form.get("token", ""))
        request.send(200, {})

    def verify_credentials(self, request: Request) -> None:
        username = self.user_of(request)
        if username is None:
            request.send(401, {"error": "The access token was revoked" if request.bearer in self.revoked
                               else "The access token is invalid"})
            return
        request.send(200, self.accounts[username], headers={
            "X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "299",
            "X-RateLimit-Reset": "2026-12-05T13:30:00.000000Z"})

    def user_of(self, request: Request) -> str | None:
        """The local username a request's live token belongs to (None: none, or revoked)."""
        token = request.bearer
        if not token or token in self.revoked:
            return None
        username = self.tokens.get(token)
        return username if username in self.accounts else None
