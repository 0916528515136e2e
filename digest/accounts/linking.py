"""Linking an account to a person, and unlinking it: the ``account`` rows and the follows they make.

Linking turns every stored list entry naming the account (by provider and stable id)
into a follow of its person: the "becomes a follow the day someone links that account"
rule. An external account belongs to one person: linking it to a second is refused
(also when two links race: the unique constraint decides). Unlinking deletes the
account's stored list and every follow the account made, in both directions; manual
follows stay.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.exc import IntegrityError

from digest.accounts.env import AccountsEnv
from digest.accounts.errors import AccountError, AccountTaken
from digest.accounts.follows import PairsChange, pairs_sync
from digest.accounts.shown import account_person_touch
from digest.accounts.values import Identity, SourceRef
from digest.stores import db
from digest.vocabulary import PROVIDER_SOURCE, Provider, VerifiedVia


@dataclass(frozen=True)
class Linked:
    account_id: int
    created: bool  # False: it was this person's already (handle, profile and verification refreshed)
    follows_added: int  # followers whose stored lists name the account, now following the person


def identity_find(env: AccountsEnv, *, source: SourceRef, token: str = "") -> Identity:
    """The account a source names, as its provider describes it now (one or two requests)."""
    return env.client(source.provider, source.server).identity(source, token=token)


def account_link(env: AccountsEnv, *, person_id: int, identity: Identity, verified_via: VerifiedVia | None,
                 added_by: str, now: dt.datetime) -> Linked:
    """Link ``identity`` (as its provider gave it) to a person; :class:`AccountTaken` when it is another's."""
    a = db.account
    try:
        with env.engine.begin() as connection:
            _person_handle(connection, person_id)
            row = connection.execute(
                select(a.c.id, a.c.person_id, a.c.verified_via)
                .where(a.c.provider == identity.provider.value, a.c.external_id == identity.external_id)
            ).first()
            if row is not None and row.person_id != person_id:
                raise _taken(connection, identity, row.person_id)
            values: dict[str, object] = {"handle": identity.handle, "profile_url": identity.profile_url}
            if verified_via is not None:
                values |= {"verified": True, "verified_via": verified_via.value, "verified_at": now}
            account_person_touch(connection, person_id=person_id)
            if row is not None:
                connection.execute(update(a).where(a.c.id == row.id).values(**values))
                return Linked(row.id, created=False, follows_added=0)
            account_id: int = connection.execute(a.insert().values({
                "person_id": person_id, "provider": identity.provider.value, "external_id": identity.external_id,
                "verified": False, "verified_via": "", "verified_at": None, "added_by": added_by[:150],
                "created_at": now, "fetched_at": None, "fetch_etag": "", "following_count": 0,
                "following_capped": False, "fetch_error": "", "fetch_error_at": None, **values,
            })).inserted_primary_key[0]  # type: ignore[index]
            change = pairs_sync(connection, source=PROVIDER_SOURCE[identity.provider], now=now, followee_id=person_id)
    except IntegrityError:  # a link of the same account by someone else committed first
        with env.engine.connect() as connection:
            owner = connection.execute(
                select(a.c.person_id).where(a.c.provider == identity.provider.value,
                                            a.c.external_id == identity.external_id)
            ).scalar()
            raise _taken(connection, identity, owner) from None
    env.graph_apply(change.edits)
    return Linked(account_id, created=True, follows_added=change.added)


def account_unlink(env: AccountsEnv, *, account_id: int, now: dt.datetime) -> PairsChange:
    """Unlink an account: its stored list and the follows it made go; manual follows stay."""
    a = db.account
    with env.engine.begin() as connection:
        row = connection.execute(select(a.c.person_id, a.c.provider).where(a.c.id == account_id)).first()
        if row is None:
            raise AccountError(f"no account with id {account_id}")
        for table in _owned_by_account():  # its list, and any mirrored table with a foreign key to it
            connection.execute(delete(table).where(table.c.account_id == account_id))
        # The site's sealed token of the account (it revokes it first when it can).
        connection.execute(delete(db.account_token).where(db.account_token.c.account_id == account_id))
        connection.execute(delete(a).where(a.c.id == account_id))
        account_person_touch(connection, person_id=row.person_id)
        source = PROVIDER_SOURCE[Provider(row.provider)]
        total = PairsChange()
        for scope in ({"follower_id": row.person_id}, {"followee_id": row.person_id}):
            change = pairs_sync(connection, source=source, now=now, **scope)
            total.removed += change.removed
            total.edits.extend(change.edits)
    env.graph_apply(total.edits)
    return total


def _owned_by_account() -> list:
    """Every mirrored table with an ``account_id`` foreign key to ``account``."""
    return [table for table in db.metadata.sorted_tables
            if any(fk.column.table is db.account and fk.parent.name == "account_id" for fk in table.foreign_keys)]


def _person_handle(connection: Connection, person_id: int) -> str:
    handle = connection.execute(select(db.person.c.handle).where(db.person.c.id == person_id)).scalar()
    if handle is None:
        raise AccountError(f"no person with id {person_id}")
    return handle


def _taken(connection: Connection, identity: Identity, owner_id: int | None) -> AccountTaken:
    owner = connection.execute(select(db.person.c.handle).where(db.person.c.id == owner_id)).scalar()
    return AccountTaken(
        f"{identity.provider}:{identity.handle} is linked to @{owner or 'another person'} already; "
        "an account belongs to one person"
    )
