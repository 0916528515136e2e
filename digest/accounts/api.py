"""JSON over the guarded client, as the providers' APIs speak it: statuses, Link pages, rate limits.

Rate limits: a ``429`` (or GitHub's ``403`` with ``X-RateLimit-Remaining: 0``) is waited
out when ``Retry-After`` or ``X-RateLimit-Reset`` (epoch seconds on GitHub and, as
``RateLimit-Reset``, on the Bluesky AppView; an ISO time on Mastodon) says it ends
within ``MAX_WAIT`` seconds, at most ``RETRIES`` times; a longer limit fails at once
with the time it ends. A response that says the budget is spent (``Remaining: 0``)
makes the next request wait for the reset the same way, so a long list never runs
into the wall.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from digest.accounts.errors import BadAnswer, ProviderUnavailable, RateLimited, TokenRefused
from digest.http import HttpClient, HttpError

MAX_WAIT = 30.0  # seconds: a limit that ends later fails the import instead of holding a worker
RETRIES = 3
_LINK = re.compile(r"<([^>]*)>([^<]*)")
_REL = re.compile(r"""rel\s*=\s*"?([^";]*)"?""", re.IGNORECASE)


@dataclass(frozen=True)
class Answer:
    status: int
    data: Any  # the parsed JSON; None for a 304
    headers: Mapping[str, str]
    etag: str = ""

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class ApiStatus(ProviderUnavailable):
    """A 4xx the provider's client may read as "no such account" (it knows its API)."""

    def __init__(self, message: str, *, status: int, data: Any):
        super().__init__(message)
        self.status = status
        self.data = data


class JsonApi:
    """One provider's API on one client; ``sleep`` and ``clock`` are the waiting's."""

    def __init__(self, http: HttpClient, *, name: str, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time, before: Callable[[], None] = lambda: None):
        self.http, self.name, self.sleep, self.clock = http, name, sleep, clock
        self.before = before  # called before every request: a budget shared by all workers may wait or refuse
        self.wait_until = 0.0  # the reset of a spent budget, in clock seconds

    def get(self, url: str, *, token: str = "", etag: str = "", what: str = "") -> Answer:
        """GET JSON; raises the package's errors with ``what`` ("page 3") in the message."""
        where = f"{self.name} ({what})" if what else self.name
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        for attempt in range(RETRIES + 1):
            self._wait(where)
            self.before()
            try:
                fetched = self.http.get(url, etag=etag, accept="application/json", headers=headers)
            except HttpError as error:
                raise ProviderUnavailable(f"{where} did not answer: {error.reason}") from None
            limited = fetched.status == 429 or (
                fetched.status == 403 and _header(fetched.headers, "ratelimit-remaining") == "0"
            )
            if not limited:
                break
            wait = self._limit_ends(fetched.headers)
            if wait is None or wait > MAX_WAIT or attempt == RETRIES:
                raise RateLimited(f"{where} is rate limited{_until(wait, self.clock)}; try again later")
            self.sleep(max(wait, 0.0))
        self._note_budget(fetched.headers)
        return self._answer(fetched.status, fetched.body, fetched.headers, fetched.etag, where, token)

    def _answer(self, status: int, body: bytes, headers: Mapping[str, str], etag: str, where: str,
                token: str) -> Answer:
        if status == 304:
            return Answer(status, None, headers, etag)
        if status == 401:
            if token:
                raise TokenRefused(f"{where} refused the token (401): it was revoked or expired; connect again")
            raise ProviderUnavailable(f"{where} asks for a sign-in (401)")
        if status >= 500:
            raise ProviderUnavailable(f"{where} answered {status}")
        try:
            data = json.loads(body)
        except ValueError:
            if 400 <= status < 500:
                raise ApiStatus(f"{where} answered {status}", status=status, data=None) from None
            raise BadAnswer(f"{where} answered something that is not JSON") from None
        if 400 <= status < 500:
            raise ApiStatus(f"{where} answered {status}", status=status, data=data)
        if not 200 <= status < 300:
            raise ProviderUnavailable(f"{where} answered {status}")
        return Answer(status, data, headers, etag)

    def _wait(self, where: str) -> None:
        left = self.wait_until - self.clock()
        if left <= 0:
            return
        if left > MAX_WAIT:
            raise RateLimited(f"{where} is rate limited{_until(left, self.clock)}; try again later")
        self.sleep(left)

    def _note_budget(self, headers: Mapping[str, str]) -> None:
        if _header(headers, "ratelimit-remaining") == "0":
            wait = self._limit_ends(headers)
            if wait is not None:
                self.wait_until = self.clock() + wait

    def _limit_ends(self, headers: Mapping[str, str]) -> float | None:
        """Seconds until a limit ends, from Retry-After or X-RateLimit-Reset; None: not said."""
        retry = headers.get("retry-after", "").strip()
        if retry.isdigit():
            return float(retry)
        if retry:
            moment = _http_date(retry)
            if moment is not None:
                return moment - self.clock()
        reset = _header(headers, "ratelimit-reset")
        if reset.isdigit():  # GitHub and the Bluesky AppView: epoch seconds
            return float(reset) - self.clock()
        if reset:  # Mastodon: an ISO 8601 time
            try:
                return dt.datetime.fromisoformat(reset.replace("Z", "+00:00")).timestamp() - self.clock()
            except ValueError:
                return None
        return None


def next_link(headers: Mapping[str, str]) -> str:
    """The ``rel="next"`` URL of a Link header (RFC 8288), or ""."""
    for url, params in _LINK.findall(headers.get("link", "")):
        for rel in _REL.findall(params):
            if "next" in rel.lower().split():
                return url.strip()
    return ""


def same_origin(url: str, base: str) -> bool:
    """A next page must stay on the server that gave the first (the token goes with it)."""
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.netloc.lower()) == (b.scheme, b.netloc.lower())


def _header(headers: Mapping[str, str], name: str) -> str:
    """``X-RateLimit-*`` (GitHub, Mastodon) or ``RateLimit-*`` (the Bluesky AppView)."""
    return (headers.get(f"x-{name}") or headers.get(name) or "").strip()


def _http_date(text: str) -> float | None:
    try:
        return email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError):
        return None


def _until(wait: float | None, clock: Callable[[], float]) -> str:
    if wait is None:
        return ""
    moment = dt.datetime.fromtimestamp(clock() + wait, dt.UTC)
    return f" until {moment:%Y-%m-%d %H:%M} UTC"
