"""gunicorn settings for the site in production::

    gunicorn -c python:lanyard_site.gunicorn_conf lanyard_site.wsgi:application

It listens on loopback (``LANYARD_SITE_BIND``, default ``127.0.0.1:8000``): the TLS proxy
(nginx, see deploy/nginx.conf) runs on the same machine and is the only way in. gunicorn
believes the proxy's X-Forwarded-* headers from ``LANYARD_TRUSTED_PROXIES`` only, like the
site itself (lanyard_site.ops.proxy).

The configuration is checked here, in gunicorn's master, before any worker starts: a bad
``LANYARD_*`` value, a data directory that cannot be written or a database that does not
answer ends gunicorn with one line on stderr, never a worker's traceback.
"""

import multiprocessing
import os
import sys

from digest.config import ConfigError, load_settings
from digest.ops.gunicorn_logs import AccessOnRequestLogger
from digest.ops.health import database_answers
from digest.ops.logs import logging_config
from digest.stores.db import make_engine

try:
    _settings = load_settings()
except ConfigError as error:
    print(f"lanyard site: configuration: {error}", file=sys.stderr)
    raise SystemExit(2) from None
if (_problem := database_answers(make_engine(_settings.database.primary))) is not None:
    print(f"lanyard site: cannot use the database ({_problem}); check LANYARD_DATABASE_URL", file=sys.stderr)
    raise SystemExit(1)

bind = os.environ.get("LANYARD_SITE_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = multiprocessing.cpu_count() + 1
# Two threads: one can render while the other waits on the database or Redis. More only
# fought over the worker's GIL: on the bench data (2 CPUs, SQLite, the embedded Redis),
# bench/load.py measured the search page at 565 requests/s (p99 79 ms) with four, 553
# with three, 623-634 (p99 51 ms) with two, 602 with one; /healthz no slower. Where
# pages wait longer on a database across the network, raise it: --threads N.
threads = 2
# A worker takes at most this many connections: keep-alive connections stay with the worker
# that accepted them, and a burst of them (nginx's upstream keepalive, a load test's) all
# taken by the first worker to wake left the others idle, the site on one CPU (bench/load.py
# measured half the requests/s from run to run). More wait in the listen backlog, and
# there a connection waits for a kept-alive one to close: seconds (p99s of 2-6 s measured
# with four a worker). So every worker's limit together holds nginx's 16 upstream
# keepalive connections on the smallest machine (2 CPUs: 3 workers x 6), whatever the threads.
worker_connections = 6
timeout = 30
graceful_timeout = 20
forwarded_allow_ips = ",".join(str(network) for network in _settings.site.trusted_proxies)
control_socket_disable = True  # the unsubscribe endpoint's gunicorn may run on the same machine
logconfig_dict = logging_config(_settings, service="site")
# Access lines only with --access-logfile (see digest/ops/gunicorn_logs.py).
logger_class = AccessOnRequestLogger


def post_worker_init(worker) -> None:
    """The objects made while loading the site (Django, its apps, the settings) go to the
    permanent generation, which the cyclic garbage collector never scans: a full
    collection of a loaded worker paused every thread for up to 99 ms (measured over 2,600
    requests on the bench data), 29 ms without them; such pauses were the p99s under load."""
    import gc  # noqa: PLC0415 -- used only here, once per worker

    gc.collect()
    gc.freeze()
