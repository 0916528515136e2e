"""The site's readiness: its databases, Redis, the graph and the search engine answer.

The public answer names each component and says ok or not, nothing more: hosts, drivers'
messages and timings go to the log, and to a caller on loopback (an operator on the
machine, ``curl localhost``). A graph found missing (a Redis restarted empty) is rebuilt
from the database in the background, once however many processes notice
(``digest/heal.py``); until it is whole the site is not ready.
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from digest.errors import GraphMissing
from digest.graph.sync import heal
from digest.ops.health import Check, check, database_probe, readiness, redis_probe
from digest.search import open_search, search_probe
from digest.stores.keys import RedisKeys

from .. import stores
from .proxy import address

log = logging.getLogger("lanyard.site")
_healing = threading.Lock()


@lru_cache(maxsize=1)
def _search():
    return open_search(settings.LANYARD)


def graph_heal_soon() -> None:
    """Rebuild a missing graph in a background thread of this process (one at a time)."""
    if not _healing.acquire(blocking=False):
        return

    def run() -> None:
        try:
            lock = RedisKeys(settings.LANYARD.redis.prefix).graph_heal_lock
            healed = heal(stores.graph(), stores.engine(DEFAULT_DB_ALIAS), lock_key=lock)
            log.warning("the Redis graph was missing; %s", "rebuilt" if healed.rebuilt else "rebuilt by another")
        except Exception:  # a thread's failure is logged; the next probe tries again
            log.exception("the Redis graph is missing and could not be rebuilt")
        finally:
            _healing.release()

    threading.Thread(target=run, name="lanyard-graph-heal", daemon=True).start()


def graph_probe() -> None:
    graph = stores.graph()
    try:
        graph.keys()
    except GraphMissing:
        graph_heal_soon()
        raise


def site_readiness() -> tuple[int, list[Check]]:
    checks = [check(f"database:{alias}", database_probe(stores.engine(alias))) for alias in connections]
    checks.append(check("redis", redis_probe(stores.redis())))
    checks.append(check("graph", graph_probe))
    checks.append(check("search", search_probe(_search)))
    for failed in (c for c in checks if not c.ok):
        log.warning("not ready: %s: %s", failed.name, failed.error)
    status, _ = readiness(checks)
    return status, checks


def readiness_body(checks: list[Check], *, detailed: bool) -> dict:
    """The JSON of /readyz: each component ok or not; timings and errors only when ``detailed``."""
    if detailed:
        return readiness(checks)[1]
    ready = all(c.ok for c in checks)
    return {"status": "ready" if ready else "unavailable", "checks": {c.name: c.ok for c in checks}}


def sees_details(request) -> bool:
    """Loopback callers (after lanyard_site.ops.proxy put the proxied client's address in REMOTE_ADDR)."""
    peer = address(request.META.get("REMOTE_ADDR", ""))
    return peer is not None and peer.is_loopback
