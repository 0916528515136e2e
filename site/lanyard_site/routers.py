"""Reads from the replica, writes to the primary (when ``LANYARD_DATABASE_REPLICA_URL`` is set).

Site pages read from the replica. Writes, and every read of a request that writes, go to
the primary; so do the reads of the next few seconds after a write by the same browser
(a cookie), since a replica may lag, and the admin's, sessions' and users' reads, which
must be current.
"""

from __future__ import annotations

from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

REPLICA = "replica"
RECENT_WRITE_COOKIE = "lanyard_wrote"
RECENT_WRITE_SECONDS = 10
ALWAYS_PRIMARY = frozenset({"auth", "sessions", "admin", "ops"})
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_pinned: ContextVar[bool] = ContextVar("lanyard_primary_pinned", default=False)


class ReplicaRouter:
    def __init__(self, primary: str = DEFAULT_DB_ALIAS, replica: str = REPLICA):
        self.primary, self.replica = primary, replica

    def db_for_read(self, model, **hints):
        if _pinned.get() or model._meta.app_label in ALWAYS_PRIMARY or self.replica not in settings.DATABASES:
            return self.primary
        return self.replica

    def db_for_write(self, model, **hints):
        return self.primary

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica holds the primary's rows

    def allow_migrate(self, db, app_label, **hints):
        return db != self.replica  # a replica gets its schema from its primary


class ReplicaMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        writes = request.method in UNSAFE
        pin = writes or RECENT_WRITE_COOKIE in request.COOKIES or request.path.startswith("/admin/")
        token = _pinned.set(pin)
        try:
            response = self.get_response(request)
        finally:
            _pinned.reset(token)
        if writes and settings.DATABASE_ROUTERS:  # a replica is configured (or a test routes)
            response.set_cookie(
                RECENT_WRITE_COOKIE,
                "1",
                max_age=RECENT_WRITE_SECONDS,
                httponly=True,
                secure=request.is_secure(),
                samesite="Lax",
            )
        return response
