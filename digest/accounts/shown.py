"""What the site shows of accounts: a person's page lists their linked accounts, kept
per process under the person's ``cache_version`` (lanyard_site/events/selectors/people.py
``person_accounts``). Every write here that changes an account row bumps it, as the
site's own writes do (lanyard_site/personal/cascades.py); SQLAlchemy fires no cascade."""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from digest.stores import db


def account_person_touch(
    connection: Connection, *, person_id: int | None = None, account_id: int | None = None,
) -> None:
    """Bump the cache_version of ``person_id``, or of the person owning ``account_id``
    (before the account row is deleted), in the caller's transaction."""
    p = db.person
    if person_id is not None:
        owner = p.c.id == person_id
    else:
        owner = p.c.id.in_(select(db.account.c.person_id).where(db.account.c.id == account_id))
    connection.execute(update(p).where(owner).values(cache_version=p.c.cache_version + 1))
