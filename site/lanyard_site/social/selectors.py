"""Reads of the follows page and the sign-in flows."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Exists, OuterRef

from digest.graph.store import GRAPH_ROLES
from digest.stores.keys import RedisKeys

from .. import stores
from ..accounts.models import Account, AccountFollowing
from ..events.models import Attendance, Follow


@dataclass(frozen=True)
class Owner:
    """Who has an external account: the person, their user (None: nobody claimed the person)."""

    person_id: int
    user_id: int | None
    handle: str
    verified: bool


def account_owner(*, provider: str, external_id: str) -> Owner | None:
    found = (Account.objects.filter(provider=provider, external_id=external_id)
             .values("person_id", "person__user_id", "person__handle", "verified").first())
    if found is None:
        return None
    return Owner(found["person_id"], found["person__user_id"], found["person__handle"], found["verified"])


@dataclass(frozen=True)
class Reach:
    """"N people you follow are going to M upcoming events"."""

    people: int
    events: int


def reach(person_id: int, *, today: dt.date | None = None) -> Reach:
    """From the database (the source of truth), so it is right the moment an import commits."""
    today = today or dt.date.today()
    followees = Follow.objects.filter(follower_id=person_id).values("followee_id")
    going = Attendance.objects.filter(person_id__in=followees, role__in=list(GRAPH_ROLES), event__end_date__gte=today)
    figures = going.aggregate(people=Count("person_id", distinct=True), events=Count("event_id", distinct=True))
    return Reach(figures["people"] or 0, figures["events"] or 0)


@dataclass(frozen=True)
class Connected:
    """One connected account as the follows page shows it."""

    account: Account
    following: int  # ids in its imported list
    matched: int  # of them, accounts of lanyard people
    follows: int  # follow rows of this source for the person
    importing_since: float | None  # a queued or running import (epoch seconds), None: none known
    has_token: bool

    @property
    def waiting_minutes(self) -> int:
        return int((time.time() - self.importing_since) // 60) if self.importing_since is not None else 0

    @property
    def unmatched(self) -> int:
        return self.following - self.matched

    @property
    def failed(self) -> bool:
        a = self.account
        return bool(a.fetch_error) and (a.fetched_at is None or (a.fetch_error_at or a.fetched_at) >= a.fetched_at)


def connected(person_id: int) -> list[Connected]:
    accounts = list(Account.objects.filter(person_id=person_id).order_by("provider", "handle"))
    importing = _importing([a.pk for a in accounts])
    rows = []
    for account in accounts:
        following = AccountFollowing.objects.filter(account=account)
        matched = following.filter(Exists(Account.objects.filter(
            provider=OuterRef("provider"), external_id=OuterRef("external_id"))))
        rows.append(Connected(
            account=account, following=following.count(), matched=matched.count(),
            follows=Follow.objects.filter(follower_id=person_id, source=account.provider).count(),
            importing_since=importing.get(account.pk), has_token=hasattr(account, "token"),
        ))
    return rows


def _importing(account_ids: list[int]) -> dict[int, float]:
    """Accounts whose import is queued or running; empty when Redis is away (the page then
    shows the last import's outcome)."""
    if not account_ids:
        return {}
    keys = RedisKeys(settings.LANYARD.redis.prefix)
    try:
        values = stores.redis().mget([keys.follows_importing(a) for a in account_ids])
    except Exception:  # Redis away: degrade to what the database says
        return {}
    now = time.time()
    return {a: min(float(v), now) for a, v in zip(account_ids, values, strict=True) if v is not None}


def manual_follows(person_id: int) -> int:
    return Follow.objects.filter(follower_id=person_id, source=Follow.Source.MANUAL).count()
