"""The site's handle on the ops state: one snapshot per request, flags for a user."""

from __future__ import annotations

from django.conf import settings

from digest.ops.flags import ANONYMOUS, FlagSet, Visitor
from digest.ops.live import OpsSettingGroup, Registry
from digest.ops.state import OpsSnapshot, ops_snapshot
from scheduler.runtime import ScheduleSettingGroup

from .. import stores


def snapshot_load() -> OpsSnapshot:
    return ops_snapshot(stores.redis(), stores.engine(), prefix=settings.LANYARD.redis_prefix)


def request_snapshot(request) -> OpsSnapshot:
    """The request's snapshot, read on first use and kept for the rest of the request."""
    snapshot = getattr(request, "_lanyard_ops", None)
    if snapshot is None:
        snapshot = request._lanyard_ops = snapshot_load()
    return snapshot


def request_flags(request) -> FlagSet:
    flags = getattr(request, "_lanyard_flags", None)
    if flags is None:
        flags = request._lanyard_flags = request_snapshot(request).flags(lambda: visitor_of(getattr(request, "user", None)))
    return flags


def flag_active(request, name: str) -> bool:
    """For views: is feature flag ``name`` on for this request's user?"""
    return request_flags(request).active(name)


def visitor_of(user) -> Visitor:
    if user is None or not user.is_authenticated:
        return ANONYMOUS
    person = getattr(user, "person", None)  # a reverse one-to-one: a missing Person raises, getattr says None
    return Visitor(user_id=user.pk, handle=person.handle if person else "", is_staff=user.is_staff,
                   is_superuser=user.is_superuser)


def live_registry() -> Registry:
    """Every live setting: lanyard's own and the scheduler's runtime schedule."""
    return Registry([OpsSettingGroup(stores.redis(), prefix=settings.LANYARD.redis_prefix), ScheduleSettingGroup()])
