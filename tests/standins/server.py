"""The stand-ins' shared part: a threaded WSGI server on 127.0.0.2, a request log, routes, faults.

Routes are (method, path pattern) → handler(request, **groups) → Response. Faults
apply to the list pages a stand-in serves (``Faults.page``): tests switch them on by
setting fields, e.g. ``github.faults.fail_page = 3``.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

HOST = "127.0.0.2"
STATUS_TEXT = {200: "OK", 302: "Found", 304: "Not Modified", 400: "Bad Request", 401: "Unauthorized",
               403: "Forbidden", 404: "Not Found", 410: "Gone", 422: "Unprocessable Entity",
               429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway"}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    form: dict[str, str]
    base: str  # scheme://host:port of the stand-in

    def bearer(self) -> str:
        kind, _, token = self.headers.get("authorization", "").partition(" ")
        return token.strip() if kind.lower() in ("bearer", "token") else ""


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(status, json.dumps(data).encode(), {"Content-Type": "application/json; charset=utf-8",
                                                        **(headers or {})})


def html_response(html: str, status: int = 200) -> Response:
    return Response(status, html.encode(), {"Content-Type": "text/html; charset=utf-8"})


def redirect(location: str) -> Response:
    return Response(302, b"", {"Location": location})


@dataclass
class Faults:
    """Misbehaviour of the list pages (page numbers count from 1)."""

    fail_page: int | None = None  # answers fail_status on that page
    fail_status: int = 500
    hang_page: int | None = None  # sends nothing until the server stops (the client's deadline ends it)
    malformed_page: int | None = None  # answers 200 with a body that is not JSON
    loop_page: int | None = None  # that page's next link points back to page 1
    retry_after: int | None = None  # the next list request answers 429 with this Retry-After, once
    stopping: threading.Event = field(default_factory=threading.Event)

    def page(self, number: int) -> Response | None:
        if self.retry_after is not None:
            seconds, self.retry_after = self.retry_after, None
            return json_response({"error": "Too many requests"}, 429, {"Retry-After": str(seconds)})
        if number == self.fail_page:
            return json_response({"error": "Internal server error"}, self.fail_status)
        if number == self.hang_page:
            self.stopping.wait(60)
            return json_response([], 200)
        if number == self.malformed_page:
            return Response(200, b"<html>Oops, this is not JSON", {"Content-Type": "application/json"})
        return None


Handler = Callable[..., Response]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class StandIn:
    """Start with ``start()`` (or as a context manager); ``base_url`` is where it answers."""

    def __init__(self, host: str = HOST):
        self.host = host
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.requests: list[Request] = []
        self.faults = Faults()
        self._server: _ThreadingServer | None = None

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(pattern + r"\Z"), handler))

    def start(self) -> StandIn:
        self._server = make_server(self.host, 0, self._wsgi, server_class=_ThreadingServer,  # type: ignore[arg-type]
                                   handler_class=_QuietHandler)
        threading.Thread(target=self._server.serve_forever, name=type(self).__name__, daemon=True).start()
        return self

    def stop(self) -> None:
        self.faults.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the stand-in first"
        return f"http://{self.host}:{self._server.server_address[1]}"

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def _wsgi(self, environ: dict, start_response: Callable) -> list[bytes]:
        request = _request(environ, self.base_url)
        self.requests.append(request)
        response = self._dispatch(request)
        status = f"{response.status} {STATUS_TEXT.get(response.status, 'Status')}"
        headers = {"Content-Length": str(len(response.body)), **response.headers}
        start_response(status, list(headers.items()))
        return [response.body]

    def _dispatch(self, request: Request) -> Response:
        for method, pattern, handler in self.routes:
            match = pattern.match(request.path)
            if match and method == request.method:
                return handler(request, **match.groupdict())
        return json_response({"error": "Not found"}, 404)


def _request(environ: dict, base: str) -> Request:
    query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).items()}
    headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    form: dict[str, str] = {}
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        body = environ["wsgi.input"].read(length).decode()
        if environ.get("CONTENT_TYPE", "").startswith("application/json"):
            form = {k: str(v) for k, v in json.loads(body).items()}
        else:
            form = {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}
    return Request(environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/"), query, headers, form, base)
