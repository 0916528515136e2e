"""gunicorn settings for the unsubscribe endpoint in production::

    gunicorn -c python:unsubscribe_web.gunicorn_conf 'unsubscribe_web.asgi:create_asgi_app()'

Settings come from the ``LANYARD_*`` environment like every other part of lanyard;
these defaults can be overridden on the command line or with ``GUNICORN_CMD_ARGS``.

Each request is a little CPU (verify a signature, render a small page) and a little
waiting (an unsubscribe waits for its group to be queued in Redis, see groupcommit.py).
gunicorn's ``asgi`` worker serves every connection of a process on one event loop, and
the one-click POST stays on it, its group queued on the loop's own Redis connection; a
queue applier thread writes the queue to the database behind the answers (applier.py).
Under gunicorn's threaded worker the hand-overs between a request's thread and a
committer thread cost more CPU than the request itself. The blocking
rest (the confirmation page's read, resubscribes, ``/readyz``) runs on a small thread
pool. One worker process per core.
"""

import multiprocessing
import os
import sys

from digest.config import ConfigError, load_settings
from digest.ops.gunicorn_logs import AccessOnRequestLogger
from digest.ops.logs import logging_config

bind = os.environ.get("LANYARD_UNSUBSCRIBE_BIND", "127.0.0.1:8001")
worker_class = "asgi"
workers = multiprocessing.cpu_count()
keepalive = 5
# Far above any real link (about 60 characters); the app answers 414 from 2,048.
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 4094
timeout = 30
graceful_timeout = 20
# Paths carry tokens, which are secrets: log requests without them.
access_log_format = '%(h)s "%(m)s" %(s)s %(B)s %(M)sms'
# Access lines only with --access-logfile (see digest/ops/gunicorn_logs.py).
logger_class = AccessOnRequestLogger
# Several copies may run on one machine; gunicorn's control socket has one fixed path.
control_socket_disable = True
# Each worker listens on a socket of its own (SO_REUSEPORT), so the kernel spreads new
# connections over the workers: on one shared socket, the first worker to wake took
# every connection waiting (asyncio accepts all it can), and one core served them all.
# (A second copy started on the same port by mistake shares it rather than failing.)
reuse_port = True

# Logs as the site and the workers write them (console lines, or JSON with LANYARD_LOG_FORMAT=json).
# A bad LANYARD_* value stops gunicorn here, in its master, with one line.
try:
    logconfig_dict = logging_config(load_settings(), service="unsubscribe")
except ConfigError as error:
    print(f"lanyard unsubscribe: configuration: {error}", file=sys.stderr)
    raise SystemExit(2) from None
