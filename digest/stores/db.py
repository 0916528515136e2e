"""Data access for the Django-free core: SQLAlchemy Core tables and the engine factory.

Django's migrations own the schema (``site/lanyard_site/*/models.py``). These tables
mirror the columns the core reads and writes; ``tests/digest/stores/test_db_schema.py``
migrates real SQLite and PostgreSQL databases with Django and fails when a column here
disagrees with the migrated schema.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    create_engine,
    event,
)

from digest.config import DatabaseURL

metadata = MetaData()


def _id() -> Column:
    return Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True)


person = Table(
    "person",
    metadata,
    _id(),
    Column("name", String(200), nullable=False),
    Column("handle", String(64), nullable=False, unique=True),
    Column("bio", Text, nullable=False),
    Column("avatar_url", String(500), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("cache_version", Integer, nullable=False),
    Column("feed_version", Integer, nullable=False),
    Column("user_id", Integer, nullable=True),
)

follow = Table(
    "follow",
    metadata,
    _id(),
    Column("follower_id", BigInteger, ForeignKey("person.id"), nullable=False),
    Column("followee_id", BigInteger, ForeignKey("person.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # One row per (pair, source): manual rows are the site's; github/mastodon/bluesky rows
    # are digest/accounts/'s, replaced per person and source (FollowSource).
    Column("source", String(16), nullable=False, server_default="manual"),
)

# Owned by digest/accounts/ (written only through its services; the schema is Django's
# lanyard_site.accounts). One row per person's account on another network, by stable id.
account = Table(
    "account",
    metadata,
    _id(),
    Column("person_id", BigInteger, ForeignKey("person.id"), nullable=False),
    Column("provider", String(16), nullable=False),
    Column("external_id", String(300), nullable=False),
    Column("handle", String(300), nullable=False),
    Column("profile_url", String(500), nullable=False),
    Column("verified", Boolean, nullable=False),
    Column("verified_via", String(16), nullable=False),
    Column("verified_at", DateTime(timezone=True), nullable=True),
    Column("added_by", String(150), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("fetched_at", DateTime(timezone=True), nullable=True),
    Column("fetch_etag", String(300), nullable=False),
    Column("following_count", Integer, nullable=False),
    Column("following_capped", Boolean, nullable=False),
    Column("fetch_error", String(300), nullable=False),
    Column("fetch_error_at", DateTime(timezone=True), nullable=True),
)

# Owned by digest/accounts/: the imported follow list of an account, ids only, matched or not.
account_following = Table(
    "account_following",
    metadata,
    _id(),
    Column("account_id", BigInteger, ForeignKey("account.id"), nullable=False),
    Column("provider", String(16), nullable=False),
    Column("external_id", String(300), nullable=False),
)

# Owned by the site (lanyard_site.social): a Mastodon user's access token, sealed
# (digest/sealed.py); the import task reads it, digest/accounts/ deletes it with its account.
account_token = Table(
    "account_token",
    metadata,
    _id(),
    Column("account_id", BigInteger, nullable=False, unique=True),
    Column("token_sealed", Text, nullable=False),
    Column("scopes", String(200), nullable=False),
    Column("server_id", BigInteger, ForeignKey("mastodon_server.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

mastodon_server = Table(
    "mastodon_server",
    metadata,
    _id(),
    Column("origin", String(300), nullable=False, unique=True),
    Column("client_id", String(300), nullable=False),
    Column("client_secret_sealed", Text, nullable=False),
    Column("redirect_uri", String(500), nullable=False),
    Column("scopes", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

topic = Table(
    "topic",
    metadata,
    _id(),
    Column("name", String(100), nullable=False),
    Column("slug", String(100), nullable=False, unique=True),
    Column("cache_version", Integer, nullable=False),
)

event_ = Table(
    "event",
    metadata,
    _id(),
    Column("name", String(200), nullable=False),
    Column("slug", String(200), nullable=False, unique=True),
    Column("description", Text, nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("venue", String(200), nullable=False),
    Column("city", String(100), nullable=False),
    Column("country", String(100), nullable=False),
    Column("url", String(500), nullable=False),
    Column("cfp_deadline", Date, nullable=True),
    Column("cache_version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

event_topic = Table(
    "event_topic",
    metadata,
    _id(),
    Column("event_id", BigInteger, ForeignKey("event.id"), nullable=False),
    Column("topic_id", BigInteger, ForeignKey("topic.id"), nullable=False),
)

session = Table(
    "session",
    metadata,
    _id(),
    Column("event_id", BigInteger, ForeignKey("event.id"), nullable=False),
    Column("title", String(300), nullable=False),
    Column("abstract", Text, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=True),
    Column("room", String(100), nullable=False, server_default=""),
    Column("cache_version", Integer, nullable=False),
)

session_speaker = Table(
    "session_speaker",
    metadata,
    _id(),
    Column("session_id", BigInteger, ForeignKey("session.id"), nullable=False),
    Column("person_id", BigInteger, ForeignKey("person.id"), nullable=False),
)

attendance = Table(
    "attendance",
    metadata,
    _id(),
    Column("person_id", BigInteger, ForeignKey("person.id"), nullable=False),
    Column("event_id", BigInteger, ForeignKey("event.id"), nullable=False),
    Column("role", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

coverage = Table(
    "coverage",
    metadata,
    _id(),
    Column("event_id", BigInteger, ForeignKey("event.id"), nullable=True),
    Column("session_id", BigInteger, ForeignKey("session.id"), nullable=True),
    Column("kind", String(16), nullable=False),
    Column("title", String(300), nullable=False),
    Column("url", String(500), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Fetching a pasted link (digest/coverage/): status, why it failed, what was found.
    Column("status", String(16), nullable=False),
    Column("failure", String(200), nullable=False),
    Column("provider", String(32), nullable=False),
    Column("embed_id", String(100), nullable=False),
    Column("thumbnail_url", String(500), nullable=False),
    Column("etag", String(200), nullable=False),
    Column("last_modified", String(64), nullable=False),
    Column("fetched_at", DateTime(timezone=True), nullable=True),
    Column("added_by_id", BigInteger, ForeignKey("person.id"), nullable=True),
)

# Old slugs and handles (site/lanyard_site/events/models.py SlugHistory): the seed's
# --reset empties it with the rows it points at.
slug_history = Table(
    "slug_history",
    metadata,
    _id(),
    Column("kind", String(16), nullable=False),
    Column("slug", String(200), nullable=False),
    Column("target_id", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

subscription = Table(
    "subscription",
    metadata,
    _id(),
    Column("person_id", BigInteger, ForeignKey("person.id"), nullable=False),
    Column("list", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("email", String(254), nullable=False),
    Column("send_hour", SmallInteger, nullable=True),  # None: the schedule's default send hour
    Column("last_sent_date", Date, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

unsubscribe_event = Table(
    "unsubscribe_event",
    metadata,
    _id(),
    Column("subscription_id", BigInteger, ForeignKey("subscription.id"), nullable=False),
    Column("action", String(16), nullable=False),
    Column("via", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

digest_run = Table(
    "digest_run",
    metadata,
    _id(),
    Column("list", String(16), nullable=False),
    Column("digest_date", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("dry_run", Boolean, nullable=False),
    Column("planned", Integer, nullable=False),
    Column("sent", Integer, nullable=False),
    Column("skipped", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("bounced", Integer, nullable=False, server_default="0"),
    Column("chunks_total", Integer, nullable=False),
    Column("chunks_done", Integer, nullable=False),
    Column("timings", JSON, nullable=False),
    Column("notes", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
)

delivery = Table(
    "delivery",
    metadata,
    _id(),
    Column("run_id", BigInteger, ForeignKey("digest_run.id"), nullable=False),
    Column("subscription_id", BigInteger, ForeignKey("subscription.id"), nullable=False),
    Column("digest_date", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("message_id", String(255), nullable=False),
    Column("attempts", SmallInteger, nullable=False),
    # Bumped by every claim; a claim's writes match it (fencing). The database defaults it to 0.
    Column("claim_generation", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=False),
    Column("claimed_at", DateTime(timezone=True), nullable=True),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("mentioned", JSON, nullable=True),  # event ids listed as new: the subscription's mention memory
    # The latest bounce or complaint report (digest/bounces/); the database defaults it to "".
    Column("feedback", String(16), nullable=False, server_default=""),
    Column("feedback_at", DateTime(timezone=True), nullable=True),
)

# One row per bounce or complaint report about a delivery, with the decision taken.
delivery_feedback = Table(
    "delivery_feedback",
    metadata,
    _id(),
    Column("delivery_id", BigInteger, ForeignKey("delivery.id"), nullable=False),
    Column("subscription_id", BigInteger, ForeignKey("subscription.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("status_code", String(16), nullable=False),
    Column("diagnostic", Text, nullable=False),
    Column("matched_by", String(16), nullable=False),
    Column("source", String(16), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("detail", Text, nullable=False),
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
)


# The scheduler's tables: chunks of a run (units of work for Celery tasks) and the
# runtime schedule (one row; see digest/runs/runtime.py).
digest_chunk = Table(
    "digest_chunk",
    metadata,
    _id(),
    Column("run_id", BigInteger, ForeignKey("digest_run.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("subscription_ids", JSON, nullable=False),
    Column("size", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("claim", String(64), nullable=False),
    Column("attempts", SmallInteger, nullable=False),
    Column("sent", Integer, nullable=False),
    Column("skipped", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("bounced", Integer, nullable=False),
    Column("last_error", Text, nullable=False),
    Column("enqueued_at", DateTime(timezone=True), nullable=True),
    Column("claimed_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
)

schedule = Table(
    "schedule",
    metadata,
    _id(),
    Column("paused", Boolean, nullable=False),
    Column("tick_seconds", Integer, nullable=False),
    Column("default_send_hour", SmallInteger, nullable=False),
    Column("lists", String(64), nullable=False),
    Column("weekly_day", SmallInteger, nullable=False),
    Column("rate_limit", Integer, nullable=False),
    Column("chunk_size", Integer, nullable=False),
    Column("chunk_timeout", Integer, nullable=False),
    Column("max_attempts", SmallInteger, nullable=False),
    Column("last_tick_at", DateTime(timezone=True), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Operations (digest/ops/): live settings an operator changed (a JSON value per name; the
# rest keep their declared defaults) and the audit trail of every operator change.
live_setting = Table(
    "live_setting",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(150), nullable=False),
)

ops_change = Table(
    "ops_change",
    metadata,
    _id(),
    Column("name", String(64), nullable=False),
    Column("old_value", Text, nullable=False),
    Column("new_value", Text, nullable=False),
    Column("changed_by", String(150), nullable=False),
    Column("via", String(16), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)


def make_engine(database: DatabaseURL, **options: Any) -> Engine:
    """An engine for SQLite (WAL, foreign keys, a busy timeout) or PostgreSQL (psycopg 3)."""
    if database.backend == "sqlite":
        assert database.path is not None  # a SQLite URL always names its file
        database.path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(database.sqlalchemy_url(), connect_args={"timeout": 30}, **options)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
            cursor = dbapi_connection.cursor()
            # WAL lets the site read while a batch writes; NORMAL is safe under WAL.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    options.setdefault("pool_pre_ping", True)
    return create_engine(database.sqlalchemy_url(), **options)


# Ids per IN list: well under SQLite's and PostgreSQL's limits on bound parameters.
IN_BATCH = 10_000


def batches(ids: Iterable[int], size: int = IN_BATCH) -> Iterator[list[int]]:
    """Distinct ids, sorted, in lists short enough for one IN clause each."""
    ids = sorted(set(ids))
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def bulk_insert(
    connection: Connection, table: Table, rows: Sequence[Mapping] | Iterable[Mapping], columns: Sequence[str]
) -> int:
    """Insert many rows fast: COPY on PostgreSQL, one executemany on SQLite.

    ``rows`` are mappings holding at least ``columns``. Returns the number inserted.
    """
    rows = list(rows)
    if not rows:
        return 0
    if connection.dialect.name == "postgresql":
        raw: Any = connection.connection.driver_connection
        copy_rows = f'COPY "{table.name}" ({", ".join(columns)}) FROM STDIN'
        with raw.cursor() as cursor, cursor.copy(copy_rows) as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
    else:
        # The DB-API's executemany on tuples: several times faster than SQLAlchemy's
        # per-row parameter processing for the millions of rows a seed writes.
        placeholders = ", ".join("?" for _ in columns)
        statement = f'INSERT INTO "{table.name}" ({", ".join(columns)}) VALUES ({placeholders})'
        driver: Any = connection.connection.driver_connection
        cursor = driver.cursor()
        cursor.executemany(statement, [tuple(sqlite_value(row[c]) for c in columns) for row in rows])
        cursor.close()
    return len(rows)


def sqlite_value(value: object) -> object:
    """Dates and datetimes as Django and SQLAlchemy store them on SQLite: UTC ISO text."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
