"""A threaded development server (the standard library's wsgiref), for
``lanyard serve unsubscribe`` and the tests. Production runs gunicorn instead."""

from __future__ import annotations

from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    # Many one-click POSTs may arrive at once; the default backlog of 5 refuses some.
    request_queue_size = 128


class QuietHandler(WSGIRequestHandler):
    """Logs requests without their paths: a path holds a token, which is a secret."""

    def log_request(self, code="-", size="-"):
        self.log_message('"%s %s…" %s %s', self.command, self.path[:3], code, size)


class SilentHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


def make_dev_server(app, host: str, port: int, *, quiet: bool = False) -> ThreadingWSGIServer:
    """A server bound to ``host:port`` (port 0: any free port); call ``serve_forever``."""
    handler = SilentHandler if quiet else QuietHandler
    return make_server(host, port, app, server_class=ThreadingWSGIServer, handler_class=handler)
