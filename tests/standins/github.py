"""GitHub's REST API and OAuth web flow, as far as lanyard uses them, on loopback.

REST (https://docs.github.com/rest): ``GET /users/{login}``, ``GET /user/{id}``,
``GET /user`` (token), ``GET /users/{login}/following`` and ``GET /user/following``
(token) in pages (``per_page`` up to 100, ``page``) with ``Link: <…>; rel="next",
<…>; rel="last"``, a weak ``ETag`` per page honoured by ``If-None-Match`` (304), and the
``X-RateLimit-Limit/Remaining/Used/Reset/Resource`` headers (Reset in epoch seconds).
Errors are ``{"message": "Not Found", "documentation_url": …}``; a bad token is 401
``Bad credentials``.

OAuth (https://docs.github.com/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps):
``GET /login/oauth/authorize`` approves at once as ``signed_in`` (the user the test
plays) and redirects to ``redirect_uri?code=…&state=…``; ``POST
/login/oauth/access_token`` trades the code for ``{"access_token", "token_type":
"bearer", "scope"}`` (JSON when asked with ``Accept: application/json``, else form
encoded) and, like GitHub, answers 200 with ``{"error": "bad_verification_code"}`` for
a bad code.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from tests.standins.server import Request, Response, StandIn, json_response, redirect

DOCS = "https://docs.github.com/rest"
_ids = itertools.count(9_000_001)


@dataclass
class User:
    login: str
    id: int
    blog: str = ""
    following: Sequence[int] = field(default_factory=list)  # ids; a range for long lists
    email: str | None = None  # public e-mail (GitHub answers null when it is private)


class GitHubStandIn(StandIn):
    def __init__(self) -> None:
        super().__init__()
        self.users: dict[str, User] = {}
        self.tokens: dict[str, str] = {}  # token → login
        self.codes: dict[str, str] = {}  # OAuth code → login
        self.signed_in = ""  # the login the OAuth page approves as
        self.rate_remaining = 5000
        for pattern, handler in (
            (r"/users/(?P<login>[^/]+)", self._user_by_login), (r"/user/(?P<user_id>\d+)", self._user_by_id),
            (r"/user", self._me), (r"/users/(?P<login>[^/]+)/following", self._following),
            (r"/user/following", self._my_following), (r"/login/oauth/authorize", self._authorize),
            (r"/api/v3/user", self._me),  # GitHub Enterprise's path, where allauth reads /user under GITHUB_URL
        ):
            self.route("GET", pattern, handler)
        self.route("POST", r"/login/oauth/access_token", self._access_token)

    def add_user(self, login: str, *, user_id: int | None = None, following: Sequence[int] = (),
                 blog: str = "") -> User:
        user = User(login, user_id or next(_ids), blog, list(following) if isinstance(following, list) else following)
        self.users[login.lower()] = user
        return user

    def token_for(self, login: str) -> str:
        token = f"gho_{secrets.token_hex(16)}"
        self.tokens[token] = login
        return token

    def _user_json(self, request: Request, user: User) -> dict:
        return {"login": user.login, "id": user.id, "node_id": f"U_{user.id}", "type": "User",
                "html_url": f"https://github.com/{user.login}", "url": f"{request.base}/users/{user.login}",
                "blog": user.blog, "following": len(user.following), "followers": 0, "site_admin": False,
                "name": user.login.title(), "email": user.email}

    def _headers(self) -> dict[str, str]:
        self.rate_remaining = max(self.rate_remaining - 1, 0)
        return {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": str(self.rate_remaining),
                "X-RateLimit-Used": str(5000 - self.rate_remaining), "X-RateLimit-Resource": "core",
                "X-RateLimit-Reset": str(int(time.time()) + 3600)}

    def _not_found(self) -> Response:
        return json_response({"message": "Not Found", "documentation_url": DOCS, "status": "404"}, 404)

    def _user_by_login(self, request: Request, login: str) -> Response:
        user = self.users.get(login.lower())
        return json_response(self._user_json(request, user), headers=self._headers()) if user else self._not_found()

    def _user_by_id(self, request: Request, user_id: str) -> Response:
        user = next((u for u in self.users.values() if u.id == int(user_id)), None)
        return json_response(self._user_json(request, user), headers=self._headers()) if user else self._not_found()

    def _token_user(self, request: Request) -> User | None:
        login = self.tokens.get(request.bearer())
        return self.users.get(login.lower()) if login else None

    def _me(self, request: Request) -> Response:
        user = self._token_user(request)
        if user is None:
            return json_response({"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}, 401)
        return json_response(self._user_json(request, user), headers=self._headers())

    def _my_following(self, request: Request) -> Response:
        user = self._token_user(request)
        if user is None:
            return json_response({"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}, 401)
        return self._page(request, user, f"{request.base}/user/following")

    def _following(self, request: Request, login: str) -> Response:
        user = self.users.get(login.lower())
        return self._page(request, user, f"{request.base}/users/{login}/following") if user else self._not_found()

    def _page(self, request: Request, user: User, url: str) -> Response:
        size = min(int(request.query.get("per_page", "30")), 100)
        number = int(request.query.get("page", "1"))
        fault = self.faults.page(number)
        if fault is not None:
            return fault
        ids = user.following[(number - 1) * size: number * size]
        by_id = {u.id: u.login for u in self.users.values()}
        items = [{"login": by_id.get(i, f"user{i}"), "id": i, "type": "User",
                  "html_url": f"https://github.com/{by_id.get(i, f'user{i}')}"} for i in ids]
        body = json.dumps(items).encode()
        etag = f'W/"{hashlib.sha256(body).hexdigest()[:32]}"'
        headers = {**self._headers(), "ETag": etag, "Content-Type": "application/json; charset=utf-8"}
        if request.headers.get("if-none-match") == etag:
            return Response(304, b"", headers)
        last = max((len(user.following) + size - 1) // size, 1)
        links = []
        if number < last:
            following = 1 if number == self.faults.loop_page else number + 1
            links.append(f'<{url}?{urlencode({"per_page": size, "page": following})}>; rel="next"')
            links.append(f'<{url}?{urlencode({"per_page": size, "page": last})}>; rel="last"')
        if links:
            headers["Link"] = ", ".join(links)
        return Response(200, body, headers)

    def _authorize(self, request: Request) -> Response:
        code = secrets.token_hex(10)
        self.codes[code] = self.signed_in
        query = urlencode({"code": code, "state": request.query.get("state", "")})
        return redirect(f"{request.query['redirect_uri']}?{query}")

    def _access_token(self, request: Request) -> Response:
        login = self.codes.pop(request.form.get("code", ""), None)
        if login is None:
            answer = {"error": "bad_verification_code", "error_description": "The code passed is incorrect or expired.",
                      "error_uri": f"{DOCS}/oauth"}
        else:
            answer = {"access_token": self.token_for(login), "token_type": "bearer", "scope": ""}
        if "application/json" in request.headers.get("accept", ""):
            return json_response(answer)
        return Response(200, urlencode(answer).encode(), {"Content-Type": "application/x-www-form-urlencoded"})
