"""The site's handle on the ops state: one snapshot per request, flags for a user."""

from __future__ import annotations

from django.conf import settings
from django.db import router

from digest.ops.flags import ANONYMOUS, FlagSet, Visitor
from digest.ops.live import OpsSettingGroup, Registry
from digest.ops.snapshot import DEFAULT_SNAPSHOT, OpsSnapshot, ops_snapshot
from digest.runs.runtime import ScheduleSettingGroup
from digest.vocabulary import Store

from .. import stores
from .degraded import is_away, store_away
from .models import OpsChange


def ops_engine():
    """The core's engine on the database the ORM writes the ops tables to (the primary)."""
    return stores.engine(router.db_for_write(OpsChange))


def snapshot_load() -> OpsSnapshot:
    return ops_snapshot(stores.redis(), ops_engine(), prefix=settings.LANYARD.redis.prefix)


def request_snapshot(request) -> OpsSnapshot:
    """The request's snapshot, read on first use and kept for the rest of the request."""
    snapshot = getattr(request, "_lanyard_ops", None)
    if snapshot is None:
        snapshot = request._lanyard_ops = DEFAULT_SNAPSHOT if is_away(Store.REDIS) else snapshot_load()
        if not snapshot.reachable:
            store_away(Store.REDIS, "the ops state could not be read; flags and settings are the defaults")
    return snapshot


def request_flags(request) -> FlagSet:
    flags = getattr(request, "_lanyard_flags", None)
    if flags is None:
        flags = request._lanyard_flags = request_snapshot(request).flags(lambda: visitor_of(request))
    return flags


def flag_active(request, name: str) -> bool:
    """For views: is feature flag ``name`` on for this request's visitor?"""
    return request_flags(request).active(name)


def visitor_of(request) -> Visitor:
    """Who is asking; made only when a flag's rule depends on it (staff, percent, people).

    The person comes from the signed-in cookie; staff and superuser from the session's user.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ANONYMOUS
    hint = getattr(request, "signed_in", None)
    person_id, handle = (hint.person_id, hint.handle) if hint is not None else (None, "")
    if hint is None:
        person = getattr(user, "person", None)  # a missing Person raises RelatedObjectDoesNotExist: None
        person_id, handle = (person.pk, person.handle) if person is not None else (None, "")
    return Visitor(person_id=person_id, handle=handle, is_staff=user.is_staff, is_superuser=user.is_superuser)


def live_registry() -> Registry:
    """Every live setting: lanyard's own and the scheduler's runtime schedule."""
    return Registry([OpsSettingGroup(stores.redis(), prefix=settings.LANYARD.redis.prefix), ScheduleSettingGroup()])
