"""A real HTTP server on a loopback address for the outgoing-HTTP tests, misbehaving on request.

It listens on 127.0.0.2 (Linux answers the whole of 127/8 on the loopback interface), so
a test can allow exactly that address with ``LANYARD_HTTP_ALLOW_NETWORKS=127.0.0.2/32``
and check that every other loopback spelling (127.0.0.1, localhost, [::1], …) is refused.

Routes are functions of the request handler: ``server.route("/slow", tar_pit)``; the
helpers below build the usual ones (pages, redirects, tar pits, bombs).
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Handler = Callable[[BaseHTTPRequestHandler], None]
HOST = "127.0.0.2"


class WebServer:
    def __init__(self, host: str = HOST):
        self.routes: dict[str, Handler] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []  # (path, headers) of each request
        self.stopping = threading.Event()
        owner = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                owner.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                handler = owner.routes.get(path)
                if handler is None:
                    send(self, 404, b"not here", "text/plain")
                    return
                try:
                    handler(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up, as it should

            def log_message(self, *args):
                pass

        self.httpd = _Server((host, 0), RequestHandler)
        self.host, self.port = self.httpd.server_address[:2]
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="web-server", daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, handler: Handler) -> str:
        self.routes[path] = handler
        return self.url(path)

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client hanging up on a misbehaving route is the expected end of it


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str = "text/html; charset=utf-8",
         headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def page(body: bytes | str, content_type: str = "text/html; charset=utf-8", status: int = 200,
         headers: dict[str, str] | None = None) -> Handler:
    data = body.encode() if isinstance(body, str) else body
    return lambda h: send(h, status, data, content_type, headers)


def redirect(location: str, status: int = 302) -> Handler:
    return lambda h: send(h, status, b"", "text/plain", {"Location": location})


def tar_pit(stopping: threading.Event, *, in_headers: bool = False) -> Handler:
    """One byte a second, forever (or until the server stops); in the headers or the body."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        h.wfile.write(b"HTTP/1.1 200 OK\r\n")
        if not in_headers:
            h.wfile.write(b"Content-Type: text/html\r\nContent-Length: 100000\r\n\r\n")
        h.wfile.flush()
        while not stopping.wait(1.0):
            h.wfile.write(b"X" if in_headers else b"<")
            h.wfile.flush()

    return handler


def endless(stopping: threading.Event) -> Handler:
    """A chunked body that never ends, as fast as the client reads."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        h.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"x" * 65536
        frame = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
        while not stopping.is_set():
            h.wfile.write(frame)

    return handler


def huge_length() -> Handler:
    """Claims 2 GB, sends a little, then waits (a client that trusted it would wait or buffer)."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        h.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: 2147483648\r\n\r\n" + b"\0" * 1024
        )
        h.wfile.flush()
        time.sleep(2)

    return handler


def gzip_bomb(decoded_megabytes: int = 64, content_type: str = "text/html") -> Handler:
    """A small gzip body that decodes to ``decoded_megabytes`` of zeros."""
    body = gzip.compress(b"\0" * (decoded_megabytes * 1024 * 1024), compresslevel=9)
    return lambda h: send(h, 200, body, content_type, {"Content-Encoding": "gzip"})
