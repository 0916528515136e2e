"""Reading back what the accounts services stored, for the tests' assertions."""

from __future__ import annotations

from sqlalchemy import select

from digest.stores import db


def follows(engine, follower_id: int) -> set[tuple[int, str]]:
    """(followee, source) of each follow row of a follower."""
    f = db.follow
    with engine.connect() as connection:
        rows = connection.execute(select(f.c.followee_id, f.c.source).where(f.c.follower_id == follower_id))
        return {(a, b) for a, b in rows}


def listed(engine, account_id: int) -> set[str]:
    t = db.account_following
    with engine.connect() as connection:
        return set(connection.execute(select(t.c.external_id).where(t.c.account_id == account_id)).scalars())


def account(engine, account_id: int):
    with engine.connect() as connection:
        return connection.execute(select(db.account).where(db.account.c.id == account_id)).mappings().one()
