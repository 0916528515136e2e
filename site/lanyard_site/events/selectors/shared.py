"""What several pages' reads share: the day they read as of, the roles that count as going,
cleaning text from a URL, and what lists can be filtered by.

Pages call ``shared.today()`` through this module (not a copy of the name), so a benchmark
browsing a data set as of its own day replaces it in one place.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models.functions import Lower
from django.utils import timezone

from ..models import Attendance, Event, Topic

CACHE_SECONDS = 600
MAX_QUERY = 200  # characters of a search query that are used

# Roles that put a person on an event in the digest's graph ("tracking" does not).
GOING = (Attendance.Role.ATTENDING, Attendance.Role.SPEAKING)


def today() -> dt.date:
    return timezone.localdate()


def clean_text(value: str | None, limit: int = MAX_QUERY) -> str:
    """A value from a URL as plain text: NUL and other control characters removed,
    whitespace collapsed, at most ``limit`` characters."""
    text = "".join(ch if ch.isprintable() else " " for ch in (value or ""))
    return " ".join(text.split())[:limit]


@dataclass(frozen=True)
class FilterChoices:
    topics: list[Topic]
    cities: list[str]
    countries: list[str]


# The lists themselves, by the token the cache holds: the per-process cache pickles what it
# keeps, and unpickling 150 topics was a fifth of a search page (profiled). Clearing the
# cache (tests do) still forgets them.
_KEPT: dict[str, FilterChoices] = {}


def filter_choices() -> FilterChoices:
    """What /events/ and /coverage/ can be filtered by. Cached for ten minutes: the lists
    change when events are added, and a new city showing up minutes late is harmless."""
    token = cache.get("events:filter-choices")
    choices = _KEPT.get(token) if token else None
    if choices is None:
        choices = FilterChoices(
            topics=list(Topic.objects.order_by(Lower("name"), "pk")),
            cities=list(Event.objects.exclude(city="").order_by("city").values_list("city", flat=True).distinct()),
            countries=list(
                Event.objects.exclude(country="").order_by("country").values_list("country", flat=True).distinct()
            ),
        )
        token = uuid.uuid4().hex
        _KEPT.clear()
        _KEPT[token] = choices
        cache.set("events:filter-choices", token, CACHE_SECONDS)
    return choices
