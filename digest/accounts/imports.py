"""Importing an account's follow list: fetch every page, then replace the stored list in one transaction.

The pages are written as they arrive into a temporary table on the import's own
connection (SQLite keeps temporary tables apart from the database file, PostgreSQL per
session), so memory holds one page whatever the list's length, and no lock on the real
tables is held while the network is slow. Only when the last page is in does one
transaction replace the account's ``account_following`` rows with the staged ids and
make its person's follows of that source match (``follows.pairs_sync``); the graph
follows after the commit. A failure on any page (a timeout, a 500, JSON that is not,
a loop) leaves everything as it was and records the reason on the account.

The list is cut at the live setting ``follows_cap`` (20,000 by default): the account is
marked ``following_capped`` and the person is told.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Column, Connection, MetaData, String, Table, delete, func, insert, literal, select, update

from digest.accounts.env import AccountsEnv
from digest.accounts.errors import AccountError
from digest.accounts.follows import PairsChange, pairs_sync
from digest.accounts.linking import account_link, identity_find
from digest.accounts.shown import account_person_touch
from digest.accounts.values import Identity, ImportResult, Page, SourceRef
from digest.ops.live import OPS_DEFAULTS, stored_values
from digest.stores import db
from digest.vocabulary import PROVIDER_SOURCE, Provider

_staging_metadata = MetaData()
# Per connection, dropped when the import ends (the connection goes back to the pool).
staging = Table("follows_import_staging", _staging_metadata, Column("external_id", String(300)),
                prefixes=["TEMPORARY"])


@dataclass(frozen=True)
class _Stored:
    id: int
    person_id: int
    provider: Provider
    external_id: str
    handle: str
    profile_url: str
    fetch_etag: str
    following_count: int


def follows_import(env: AccountsEnv, *, account_id: int, now: dt.datetime, token: str = "") -> ImportResult:
    """Fetch the account's list and store it; an :class:`AccountError` changes no follow."""
    stored = _stored(env, account_id)
    try:
        client = env.client(stored.provider, _origin(stored.profile_url))
        identity = client.identity_again(external_id=stored.external_id, handle=stored.handle,
                                         profile_url=stored.profile_url, token=token)
        etag = stored.fetch_etag if identity.following_count == stored.following_count else ""
        pages = client.following(identity, token=token, etag=etag)
        return _import(env, stored, identity, pages, now)
    except AccountError as error:
        _failed(env, account_id, str(error), now)
        raise


def follows_import_source(env: AccountsEnv, *, person_id: int, source: SourceRef, now: dt.datetime,
                          added_by: str) -> ImportResult:
    """Import the list of the account ``source`` names for a person, linking it (unverified) first if need be."""
    identity = identity_find(env, source=source)
    linked = account_link(env, person_id=person_id, identity=identity, verified_via=None, added_by=added_by, now=now)
    return follows_import(env, account_id=linked.account_id, now=now)


def follows_refresh_due(env: AccountsEnv, *, now: dt.datetime, limit: int = 500) -> list[int]:
    """Accounts whose list is older than ``follows_refresh_hours`` (or never fetched), oldest first."""
    hours = _live(env, "follows_refresh_hours")
    a = db.account
    cutoff = now - dt.timedelta(hours=hours)
    query = (
        select(a.c.id).where((a.c.fetched_at.is_(None)) | (a.c.fetched_at < cutoff))
        .order_by(a.c.fetched_at.is_not(None), a.c.fetched_at, a.c.id).limit(limit)
    )
    with env.engine.connect() as connection:
        return list(connection.execute(query).scalars())


def _import(env: AccountsEnv, stored: _Stored, identity: Identity, pages: Iterator[Page],
            now: dt.datetime) -> ImportResult:
    cap = _live(env, "follows_cap")
    result = ImportResult(handle=identity.handle)
    with env.engine.connect() as connection:
        staging.drop(connection, checkfirst=True)
        staging.create(connection)
        connection.commit()
        try:
            etag = _stage(connection, pages, cap, result)
            if result.unchanged:
                _fetched(connection, stored.id, identity, now, etag=stored.fetch_etag, result=None)
                connection.commit()
                return result
            change = _replace(connection, stored, now)
            _fetched(connection, stored.id, identity, now, etag=etag, result=result)
            connection.commit()
        finally:
            connection.rollback()
            staging.drop(connection, checkfirst=True)
            connection.commit()
    env.graph_apply(change.edits)
    result.matched, result.added, result.removed = change.matched, change.added, change.removed
    return result


def _stage(connection: Connection, pages: Iterator[Page], cap: int, result: ImportResult) -> str:
    """Write every page into the staging table (committing each); returns the first page's ETag.

    At the cap the walk stops: no page beyond it is asked for, and the list counts as capped.
    """
    etag = ""
    for page in pages:
        if page.not_modified:
            result.unchanged = True
            return page.etag
        if page.number == 1:
            etag = page.etag
        ids = page.ids[: cap - result.fetched]
        if ids:
            connection.execute(insert(staging), [{"external_id": x} for x in ids])
            connection.commit()
        result.fetched += len(ids)
        if result.fetched >= cap:
            result.capped = True
            break
    # Servers repeat an account across pages now and then: the count is of distinct ids.
    result.fetched = connection.execute(select(func.count(func.distinct(staging.c.external_id)))).scalar_one()
    return etag


def _replace(connection: Connection, stored: _Stored, now: dt.datetime) -> PairsChange:
    listed = db.account_following
    mine = select(listed.c.external_id).where(listed.c.account_id == stored.id)
    connection.execute(delete(listed).where(
        listed.c.account_id == stored.id, listed.c.external_id.not_in(select(staging.c.external_id))
    ))
    fresh = select(literal(stored.id), literal(stored.provider.value), staging.c.external_id).where(
        staging.c.external_id.not_in(mine)
    ).distinct()
    connection.execute(insert(listed).from_select(["account_id", "provider", "external_id"], fresh))
    return pairs_sync(connection, source=PROVIDER_SOURCE[stored.provider], now=now, follower_id=stored.person_id)


def _fetched(connection: Connection, account_id: int, identity: Identity, now: dt.datetime, *, etag: str,
             result: ImportResult | None) -> None:
    values: dict = {"handle": identity.handle, "profile_url": identity.profile_url, "fetched_at": now,
                    "fetch_etag": etag[:300], "fetch_error": "", "fetch_error_at": None}
    if result is not None:
        values |= {"following_count": result.fetched, "following_capped": result.capped}
    connection.execute(update(db.account).where(db.account.c.id == account_id).values(**values))
    account_person_touch(connection, account_id=account_id)  # its handle and profile link are on their page


def _failed(env: AccountsEnv, account_id: int, reason: str, now: dt.datetime) -> None:
    with env.engine.begin() as connection:
        connection.execute(update(db.account).where(db.account.c.id == account_id)
                           .values(fetch_error=reason[:300], fetch_error_at=now))


def _stored(env: AccountsEnv, account_id: int) -> _Stored:
    a = db.account
    with env.engine.connect() as connection:
        row = connection.execute(
            select(a.c.id, a.c.person_id, a.c.provider, a.c.external_id, a.c.handle, a.c.profile_url,
                   a.c.fetch_etag, a.c.following_count).where(a.c.id == account_id)
        ).first()
    if row is None:
        raise AccountError(f"no account with id {account_id}")
    return _Stored(row.id, row.person_id, Provider(row.provider), row.external_id, row.handle, row.profile_url,
                   row.fetch_etag, row.following_count)


def _live(env: AccountsEnv, name: str) -> int:
    return int({**OPS_DEFAULTS, **stored_values(env.engine)}[name])


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}" if rest else ""
