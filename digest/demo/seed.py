"""Realistic data on demand: people, follows, events, talks, attendance, subscribers.

Deterministic for a given seed and "today". The shapes follow real event sites:
follow counts are heavy-tailed (most people follow a few dozen, some follow thousands,
past the 2,048 that a single search OR query takes); a few people are followed by
very many; events spread over the past year and the next 120 days in many cities and
timezones, and popular events draw far more attendees. Rows go in with bulk inserts
(COPY on PostgreSQL) under explicit ids, so no row is read back. The words come from
``digest/demo/words.py``, the programme (crowds, talks, coverage) from ``digest/demo/talks.py``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import time
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, delete, func, select, text

from digest.demo.accounts import DemoAccounts
from digest.demo.seeding import Progress, Seeding, SeedStats, heavy_tail, weighted_picker
from digest.demo.talks import attendance_and_talks
from digest.demo.words import CITIES, EVENT_KINDS, FIRST_NAMES, LAST_NAMES, TOPICS
from digest.slugs import make_slug, slug_words
from digest.stores import db
from digest.vocabulary import DigestList, FollowSource, SubscriptionStatus

__all__ = ["SeedError", "SeedPlan", "SeedStats", "seed"]

EVENT_COLUMNS = [
    "id", "name", "slug", "description", "start_date", "end_date", "timezone", "venue", "city", "country", "url",
    "cfp_deadline", "cache_version", "created_at",
]
SUBSCRIPTION_COLUMNS = [
    "person_id", "list", "status", "email", "send_hour", "last_sent_date", "created_at", "updated_at",
]


class SeedError(RuntimeError):
    """The database is not in a state to seed; the message says what to do."""


@dataclass(frozen=True)
class SeedPlan:
    """What to seed: how many people, events and subscribers, from which random seed,
    centred on which day (default: today), and whether to delete all data first."""

    people: int
    events: int
    subscribers: int
    seed: int = 1
    today: dt.date | None = None
    reset: bool = False


def seed(engine: Engine, plan: SeedPlan, *, progress: Progress | None = None) -> SeedStats:
    """Fill an empty (or, with ``plan.reset``, emptied) database with generated data."""
    if plan.people < 2 or plan.events < 1:
        raise SeedError("seed at least 2 people and 1 event")
    if not 0 <= plan.subscribers <= plan.people:
        raise SeedError(f"--subscribers must be between 0 and --people ({plan.people}), not {plan.subscribers}")
    stats = SeedStats()
    now = dt.datetime.now(dt.UTC)

    def timed(step: str) -> _Timer:
        return _Timer(stats.timings, step)

    with engine.begin() as connection:
        existing = connection.execute(select(func.count()).select_from(db.person)).scalar_one()
        if existing and not plan.reset:
            raise SeedError(f"the database already holds {existing} people; pass --reset to replace all data")
        if plan.reset:
            with timed("reset"):
                _delete_everything(connection)

    with engine.begin() as connection:
        seeding = Seeding(
            connection, random.Random(plan.seed), today=plan.today or dt.date.today(), now=now, stats=stats,
            report=progress or (lambda step, done, total: None),
        )
        with timed("people"):
            popularity = _people(seeding, plan.people)
        demo_accounts = DemoAccounts(plan.seed, now)
        with timed("follows"):
            _follows(seeding, popularity, demo_accounts)
        with timed("accounts"):
            _accounts(seeding, demo_accounts)
        with timed("events"):
            event_rows = _events(seeding, plan.events)
        with timed("attendance"):
            attendance_and_talks(seeding, popularity, event_rows)
        with timed("subscriptions"):
            _subscriptions(seeding, plan.people, plan.subscribers)
        _reset_sequences(connection)
    return stats


class _Timer:
    def __init__(self, timings: dict, step: str):
        self.timings, self.step = timings, step

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.timings[self.step] = time.perf_counter() - self.started


def _people(seeding: Seeding, count: int) -> list[float]:
    """Insert people; return each one's popularity (how likely others follow them)."""
    rng, stats, connection = seeding.rng, seeding.stats, seeding.connection
    rows, popularity = [], []
    for pid in range(1, count + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        name = f"{first} {last.replace('-', ' ')}"
        handle = make_slug(name, pid, max_length=64)
        city = rng.choice(CITIES)
        rows.append(
            {
                "id": pid,
                "name": name,
                "handle": handle,
                "bio": f"{rng.choice(TOPICS)} person in {city[0]}.",
                "avatar_url": f"https://www.gravatar.com/avatar/{hashlib.md5(handle.encode()).hexdigest()}?d=identicon",
                "timezone": city[2],
                "cache_version": 1,
                "user_id": None,
            }
        )
        popularity.append(rng.paretovariate(1.2))
        if len(rows) >= 20_000:
            stats.people += db.bulk_insert(connection, db.person, rows, list(rows[0]))
            rows.clear()
            seeding.report("people", stats.people, count)
    stats.people += db.bulk_insert(connection, db.person, rows, list(rows[0]) if rows else [])
    seeding.report("people", stats.people, count)
    return popularity


def _follows(seeding: Seeding, popularity: list[float], accounts: DemoAccounts) -> None:
    """Follows, some imported (their source a network, the follower's stored list naming the followee)."""
    rng, stats, connection, people = seeding.rng, seeding.stats, seeding.connection, len(popularity)
    pick = weighted_picker(rng, popularity)
    columns = ["follower_id", "followee_id", "created_at", "source"]
    listed_columns = ["account_id", "provider", "external_id"]
    rows: list[dict] = []
    listed: list[dict] = []
    for follower in range(1, people + 1):
        listed.extend(accounts.strangers(follower))
        wanted = heavy_tail(rng, 3.0, 1.1, min(6000, people - 1))
        for index in pick(wanted + 1):
            followee = index + 1
            if followee != follower:
                network = accounts.imported(follower, followee)
                rows.append({"follower_id": follower, "followee_id": followee, "created_at": accounts.now,
                             "source": network or FollowSource.MANUAL})
                if network is not None:
                    stats.imported_follows += 1
                    listed.append(accounts.listed_row(follower, followee, network))
        if len(rows) >= 50_000:
            stats.follows += db.bulk_insert(connection, db.follow, rows, columns)
            db.bulk_insert(connection, db.account_following, listed, listed_columns)
            rows.clear()
            listed.clear()
            seeding.report("follows", follower, people)
    stats.follows += db.bulk_insert(connection, db.follow, rows, columns)
    # The lists name accounts inserted after them: the foreign keys are checked at commit.
    db.bulk_insert(connection, db.account_following, listed, listed_columns)
    seeding.report("follows", people, people)


def _accounts(seeding: Seeding, accounts: DemoAccounts) -> None:
    """The accounts, after the follows (their list counts are known then), then the lists that name them."""
    connection, stats = seeding.connection, seeding.stats
    handles = connection.execute(select(db.person.c.id, db.person.c.handle).order_by(db.person.c.id))
    rows: list[dict] = []
    columns = list(db.account.c.keys())
    for person_id, handle in handles.all():
        rows.extend(accounts.account_rows(person_id, handle))
        if len(rows) >= 20_000:
            stats.accounts += db.bulk_insert(connection, db.account, rows, columns)
            rows.clear()
    stats.accounts += db.bulk_insert(connection, db.account, rows, columns)


def _events(seeding: Seeding, count: int) -> list[dict]:
    """The topics, then ``count`` events with one to three topics each; returns the event rows."""
    rng, stats, connection = seeding.rng, seeding.stats, seeding.connection
    topic_rows: list[dict] = [
        {"id": i, "name": name, "slug": slug_words(name, max_length=100), "cache_version": 1}
        for i, name in enumerate(TOPICS, 1)
    ]
    stats.topics = db.bulk_insert(connection, db.topic, topic_rows, ["id", "name", "slug", "cache_version"])
    rows, links = [], []
    for eid in range(1, count + 1):
        topic = rng.choice(topic_rows)
        rows.append(_event_row(seeding, eid, topic["name"]))
        extra = rng.sample(topic_rows, 2)
        for t in {topic["id"], *(t["id"] for t in extra[: rng.randint(0, 2)])}:
            links.append({"event_id": eid, "topic_id": t})
    for first in range(0, len(rows), 20_000):
        stats.events += db.bulk_insert(connection, db.event_, rows[first : first + 20_000], EVENT_COLUMNS)
        seeding.report("events", stats.events, count)
    db.bulk_insert(connection, db.event_topic, links, ["event_id", "topic_id"])
    return rows


def _event_row(seeding: Seeding, eid: int, topic: str) -> dict:
    """One event about ``topic`` in some city, within a year before and 120 days after today."""
    rng = seeding.rng
    city, country, tz = rng.choice(CITIES)
    start = seeding.today + dt.timedelta(days=rng.randint(-365, 120))
    kind = rng.choice(EVENT_KINDS)
    name = f"{topic} {kind} {city} {start.year}"
    slug = make_slug(name, eid)
    return {
        "id": eid,
        "name": name,
        "slug": slug,
        "description": f"{kind} for people who work with {topic}, in {city}.",
        "start_date": start,
        "end_date": start + dt.timedelta(days=rng.choice((0, 0, 1, 1, 2, 4))),
        "timezone": tz,
        "venue": f"{city} Convention Centre" if kind in ("Conf", "Summit", "Festival") else f"{city} Tech Hub",
        "city": city,
        "country": country,
        "url": f"https://events.example.org/{slug}",
        "cfp_deadline": start - dt.timedelta(days=60) if kind in ("Conf", "Summit") else None,
        "cache_version": 1,
        "created_at": seeding.now,
        "_popularity": rng.paretovariate(1.3),
    }


def _subscriptions(seeding: Seeding, people: int, subscribers: int) -> None:
    rng, stats, now = seeding.rng, seeding.stats, seeding.now
    rows = [
        {
            "person_id": pid,
            "list": DigestList.DAILY,
            "status": SubscriptionStatus.ACTIVE,
            "email": f"person{pid}@example.com",
            "send_hour": rng.choice((7, 7, 7, 7, 6, 8, 9)),
            "last_sent_date": None,
            "created_at": now,
            "updated_at": now,
        }
        for pid in rng.sample(range(1, people + 1), subscribers)
    ]
    for start in range(0, len(rows), 20_000):
        stats.subscriptions += db.bulk_insert(
            seeding.connection, db.subscription, rows[start : start + 20_000], SUBSCRIPTION_COLUMNS
        )
        seeding.report("subscriptions", stats.subscriptions, subscribers)


# Children first, so foreign keys hold at every step.
_TABLES_IN_DELETE_ORDER = [
    db.digest_chunk,
    db.delivery_feedback,
    db.delivery,
    db.digest_run,
    db.unsubscribe_event,
    db.subscription,
    db.slug_history,
    db.coverage,
    db.session_speaker,
    db.session,
    db.attendance,
    db.event_topic,
    db.event_,
    db.topic,
    db.follow,
    db.account_following,
    db.account,
    db.person,
]


def _delete_everything(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in _TABLES_IN_DELETE_ORDER)
        # CASCADE: tables the core does not mirror (the API's tokens) go with their people.
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in _TABLES_IN_DELETE_ORDER:
            connection.execute(delete(table))


def _reset_sequences(connection: Connection) -> None:
    """After inserting explicit ids, move PostgreSQL's identity sequences past them."""
    if connection.dialect.name != "postgresql":
        return
    for table in db.metadata.sorted_tables:
        if "id" not in table.c:
            continue  # keyed by name (live_setting): no sequence
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                f'COALESCE((SELECT MAX(id) FROM "{table.name}"), 0) + 1, false)'
            )
        )
