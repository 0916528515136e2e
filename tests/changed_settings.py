"""Settings with a few fields of their groups changed, for tests that move a store."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from digest.config import Settings


def changed(settings: Settings, **groups: dict[str, Any]) -> Settings:
    """``changed(s, redis={"url": u, "prefix": p})``: ``s`` with those fields of those groups replaced."""
    return replace(settings, **{name: replace(getattr(settings, name), **fields) for name, fields in groups.items()})
