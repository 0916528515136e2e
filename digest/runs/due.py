"""When a subscriber's digest is due: their send hour, in their own timezone.

Pure functions over plain values (no I/O), so the scheduler's beat tick and the tests
agree on one rule:

    a subscription is *due for digest date D* when it is at least its send hour on the
    local date D in the person's timezone, and no ledger entry exists for (it, D).

Daylight-saving changes need nothing special under that rule. When clocks jump forward
over the send hour (02:00 → 03:00 with a send hour of 2), local time is past the send
hour from the jump on, so the digest goes out then, not never. When clocks fall back
and an hour repeats, the first pass sends and the ledger's one row per
(subscription, digest date) makes the repeat a no-op. Comparing wall-clock times,
never UTC offsets, is what makes both true.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from digest.vocabulary import DigestList

UTC = dt.UTC
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Candidate:
    """An active subscription the tick considers: its id, list, hour (None: default) and timezone."""

    subscription_id: int
    list_name: str
    send_hour: int | None
    timezone: str


@lru_cache(maxsize=1024)
def zone(name: str) -> dt.tzinfo:
    """The named timezone; unknown or empty names fall back to UTC rather than skip the person."""
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def local_now(now: dt.datetime, timezone: str) -> dt.datetime:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(zone(timezone))


def due_date(
    now: dt.datetime,
    *,
    timezone: str,
    send_hour: int,
    list_name: str = DigestList.DAILY,
    weekly_day: int = 0,
) -> dt.date | None:
    """The digest date this subscription is due for at ``now``, or None when not yet due.

    Daily lists are due every local day from the send hour on; weekly lists only on
    ``weekly_day`` (0 = Monday) in local time.
    """
    local = local_now(now, timezone)
    if list_name == DigestList.WEEKLY and local.weekday() != weekly_day:
        return None
    if local.time() < dt.time(send_hour):
        return None
    return local.date()


@dataclass(frozen=True)
class DueRule:
    """The schedule's part of the due rule: which lists go out, when a subscription names
    no hour of its own, and the weekly list's day (0 = Monday)."""

    default_send_hour: int
    lists: Iterable[str]
    weekly_day: int = 0


def due_by_date(
    candidates: Iterable[Candidate],
    now: dt.datetime,
    *,
    rule: DueRule,
    exclude: set[tuple[int, dt.date]] | frozenset = frozenset(),
    busy: set[int] | frozenset = frozenset(),
) -> dict[tuple[str, dt.date], list[int]]:
    """Group the due subscriptions by (list, digest date), ids ascending.

    ``exclude`` holds (subscription id, digest date) pairs already in the ledger;
    ``busy`` the ids a planned or running run is still about to process.
    """
    enabled = set(rule.lists)
    groups: dict[tuple[str, dt.date], list[int]] = {}
    for candidate in candidates:
        if candidate.list_name not in enabled or candidate.subscription_id in busy:
            continue
        hour = rule.default_send_hour if candidate.send_hour is None else candidate.send_hour
        date = due_date(
            now, timezone=candidate.timezone, send_hour=hour, list_name=candidate.list_name,
            weekly_day=rule.weekly_day,
        )
        if date is None or (candidate.subscription_id, date) in exclude:
            continue
        groups.setdefault((candidate.list_name, date), []).append(candidate.subscription_id)
    for ids in groups.values():
        ids.sort()
    return groups


def candidate_dates(now: dt.datetime) -> tuple[dt.date, ...]:
    """Every local date some timezone on Earth can be on at ``now`` (UTC-12 … UTC+14)."""
    utc = now.astimezone(UTC)
    return tuple(sorted({(utc + dt.timedelta(hours=h)).date() for h in (-12, 0, 14)}))
