"""The profile page and the operator's page in the admin (read-only, flags, live settings)."""

from __future__ import annotations

import redis as redis_lib
from django.conf import settings
from django.contrib import messages
from django.contrib.admin import site as admin_site
from django.http import Http404
from django.shortcuts import redirect, render

from digest.ops.audit import OpsChange, ops_change_log, ops_changes_latest
from digest.ops.flags import FLAGS, FlagError, flag_set, flags_read
from digest.ops.live import SettingError
from digest.ops.readonly import read_only_read, read_only_set
from digest.stores.profile import profile_load
from digest.vocabulary import Store

from .. import stores
from .degraded import store_away
from .services import live_registry, ops_engine


def profile(request, profile_id: str):
    """A stored profile; 404 for anyone but a superuser, and for an unknown or expired id."""
    if not (request.user.is_authenticated and request.user.is_superuser):
        raise Http404("no such profile")
    try:
        found = profile_load(stores.redis(), prefix=settings.LANYARD.redis.prefix, profile_id=str(profile_id))
    except redis_lib.RedisError as error:
        store_away(Store.REDIS, error)
        raise Http404("profiles are kept in Redis, which is not answering right now") from None
    if found is None:
        raise Http404("no such profile (profiles are kept five minutes)")
    total = found["total_ms"] or 1
    for item in found["events"]:
        item["left"] = min(100.0, item["start_ms"] / total * 100)
        item["width"] = max(0.3, min(100.0 - item["left"], item["ms"] / total * 100))
    return render(request, "ops/profile.html", {"profile": found})


def admin_ops(request):
    """/admin/ops/: superusers switch read-only, set flags and live settings; every change audited."""
    if not request.user.is_superuser:
        raise Http404("operators only")
    redis, prefix, engine = stores.redis(), settings.LANYARD.redis.prefix, ops_engine()
    registry = live_registry()
    who = request.user.get_username()
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "read_only":
                _read_only_change(request, who=who)
            elif action == "flag":
                name, condition = request.POST.get("name", ""), request.POST.get("condition", "")
                old, new = flag_set(redis, prefix=prefix, name=name, condition=condition)
                ops_change_log(engine, change=OpsChange(f"flag:{name}", str(old), str(new), who, "admin"))
                messages.success(request, f"Flag {name}: {new}")
            elif action == "settings":
                changes = {s.name: request.POST[s.name] for s in registry.describe() if s.name in request.POST}
                done = registry.set(engine, changes, changed_by=who, via="admin")
                messages.success(
                    request, "Changed: " + (", ".join(f"{n} = {new}" for n, (_, new) in done.items()) or "nothing")
                )
            else:
                messages.error(request, "Unknown action.")
        except (FlagError, SettingError) as error:
            messages.error(request, f"Nothing changed: {error}")
        except redis_lib.RedisError as error:
            store_away(Store.REDIS, error)
            messages.error(request, "Nothing changed: Redis, where read-only mode and flags live, is not answering.")
        return redirect("admin_ops")
    current = registry.current(engine)
    try:  # the operator must see "unknown", never a default passed off as the state
        state, rules = read_only_read(redis, prefix=prefix), flags_read(redis, prefix=prefix)
    except redis_lib.RedisError as error:
        store_away(Store.REDIS, error)
        state, rules = None, {}
    context = {
        **admin_site.each_context(request),
        "title": "Operations",
        "read_only": state,
        "flags": [(flag, str(rules[name]) if name in rules else "") for name, flag in FLAGS.items()],
        "settings_rows": [(s, current.get(s.name)) for s in registry.describe()],
        "changes": ops_changes_latest(engine, limit=30),
    }
    return render(request, "ops/admin_ops.html", context)


def _read_only_change(request, *, who: str) -> None:
    redis, prefix = stores.redis(), settings.LANYARD.redis.prefix
    before = read_only_read(redis, prefix=prefix)
    on = request.POST.get("on") == "1"
    after = read_only_set(redis, prefix=prefix, on=on, message=request.POST.get("message", "")[:500], by=who)
    ops_change_log(ops_engine(), change=OpsChange("read_only", before.on, after.on, who, "admin"))
    messages.success(request, "Read-only mode is on." if on else "Read-only mode is off.")
