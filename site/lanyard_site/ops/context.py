"""Template context: the read-only switch, the site banner, the flags, the profile id."""

from __future__ import annotations

from .services import request_flags, request_snapshot


def ops(request) -> dict:
    snapshot = request_snapshot(request)
    return {
        "read_only": snapshot.read_only,
        "site_banner": snapshot.settings.get("site_banner", ""),
        "flags": request_flags(request),
        "live_settings": snapshot.settings,
    }
