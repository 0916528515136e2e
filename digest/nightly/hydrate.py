"""Selectors that turn ids into the cards a digest shows: one query per kind per chunk."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, select

from digest.nightly.build import Links
from digest.stores import db
from digest.stores.db import batches
from digest.values import EventCard, PersonCard


@dataclass(frozen=True, slots=True)
class SubscriptionRow:
    id: int
    person_id: int
    list_name: str
    status: str
    email: str


def subscriptions_by_id(connection: Connection, ids: Sequence[int]) -> list[SubscriptionRow]:
    s = db.subscription
    rows: list[SubscriptionRow] = []
    for batch in batches(ids):
        query = select(s.c.id, s.c.person_id, s.c.list, s.c.status, s.c.email).where(s.c.id.in_(batch))
        rows.extend(SubscriptionRow(*row) for row in connection.execute(query))
    rows.sort(key=lambda row: row.id)
    return rows


def event_cards(connection: Connection, ids: Iterable[int], links: Links) -> dict[int, EventCard]:
    e = db.event_
    cards: dict[int, EventCard] = {}
    for batch in batches(ids):
        query = select(e.c.id, e.c.name, e.c.slug, e.c.start_date, e.c.end_date, e.c.city, e.c.country).where(
            e.c.id.in_(batch)
        )
        for id_, name, slug, start, end, city, country in connection.execute(query):
            cards[id_] = EventCard(
                id=id_, name=name, slug=slug, start_date=_date(start), end_date=_date(end),
                city=city, country=country, url=links.event(slug), ics_url=links.event_ics(slug),
            )
    return cards


def person_cards(connection: Connection, ids: Iterable[int], links: Links) -> dict[int, PersonCard]:
    p = db.person
    cards: dict[int, PersonCard] = {}
    for batch in batches(ids):
        query = select(p.c.id, p.c.name, p.c.handle, p.c.avatar_url, p.c.feed_version).where(p.c.id.in_(batch))
        for id_, name, handle, avatar, feed_version in connection.execute(query):
            cards[id_] = PersonCard(
                id=id_, name=name, handle=handle, avatar_url=avatar, feed_version=feed_version,
                url=links.person(handle),
            )
    return cards


def _date(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value
