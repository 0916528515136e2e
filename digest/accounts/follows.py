"""The imported follows: ``follow`` rows of one source, made from the stored lists by stable id.

A row (follower F, followee Q, source S) exists exactly when an account of F on S
follows (``account_following``) an account of Q on S, matched by (provider,
external_id), never by name. ``pairs_sync`` makes the rows so for one follower (after an
import) or one followee (after linking or unlinking their account), inside the caller's
transaction, and returns the Redis graph edits to apply after the commit: a pair joins
the graph when a row is made, and leaves it only when no row of any source remains.
Manual rows are never read or written here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Connection, delete, select

from digest.graph import store as g
from digest.stores import db
from digest.vocabulary import FollowSource

CHUNK = 500  # ids per IN list


@dataclass
class PairsChange:
    matched: int = 0  # pairs the lists make now
    added: int = 0
    removed: int = 0
    edits: list[g.Edit] = field(default_factory=list)


def pairs_sync(connection: Connection, *, source: FollowSource, now: dt.datetime, follower_id: int | None = None,
               followee_id: int | None = None) -> PairsChange:
    """Make the ``source`` rows of one follower or of one followee what the stored lists say."""
    assert (follower_id is None) != (followee_id is None), "one scope: a follower or a followee"
    desired = _desired(connection, source, follower_id, followee_id)
    f = db.follow
    scope = f.c.follower_id == follower_id if follower_id is not None else f.c.followee_id == followee_id
    rows = connection.execute(select(f.c.id, f.c.follower_id, f.c.followee_id).where(scope, f.c.source == source))
    current = {(row.follower_id, row.followee_id): row.id for row in rows}
    added = sorted(desired - current.keys())
    removed = sorted(current.keys() - desired)
    db.bulk_insert(
        connection, f,
        ({"follower_id": a, "followee_id": b, "created_at": now, "source": source.value} for a, b in added),
        ("follower_id", "followee_id", "created_at", "source"),
    )
    ids = [current[pair] for pair in removed]
    for start in range(0, len(ids), CHUNK):
        connection.execute(delete(f).where(f.c.id.in_(ids[start:start + CHUNK])))
    change = PairsChange(matched=len(desired), added=len(added), removed=len(removed))
    for a, b in added:
        change.edits.extend(g.follow_added(a, b))
    for a, b in removed_everywhere(connection, removed):
        change.edits.extend(g.follow_removed(a, b))
    return change


def _desired(connection: Connection, source: FollowSource, follower_id: int | None,
             followee_id: int | None) -> set[tuple[int, int]]:
    mine, theirs, listed = db.account.alias("mine"), db.account.alias("theirs"), db.account_following
    query = (
        select(mine.c.person_id, theirs.c.person_id)
        .select_from(
            listed.join(mine, mine.c.id == listed.c.account_id).join(
                theirs, (theirs.c.provider == listed.c.provider) & (theirs.c.external_id == listed.c.external_id)
            )
        )
        .where(listed.c.provider == source.value, mine.c.person_id != theirs.c.person_id)
        .distinct()
    )
    if follower_id is not None:
        query = query.where(mine.c.person_id == follower_id)
    else:
        query = query.where(theirs.c.person_id == followee_id)
    return {(a, b) for a, b in connection.execute(query)}


def removed_everywhere(connection: Connection, pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Of pairs whose rows of one source were deleted, those with no row of any source left.

    Queried by the side with fewer distinct people (one follower after an import, one
    followee after a link), in chunks.
    """
    if not pairs:
        return []
    f = db.follow
    followers, followees = sorted({a for a, _ in pairs}), sorted({b for _, b in pairs})
    many, few = (f.c.follower_id, f.c.followee_id) if len(followers) <= len(followees) else (
        f.c.followee_id, f.c.follower_id)
    keys, others = (followers, followees) if many is f.c.follower_id else (followees, followers)
    left: set[tuple[int, int]] = set()
    for start in range(0, len(keys), CHUNK):
        query = select(f.c.follower_id, f.c.followee_id).where(many.in_(keys[start:start + CHUNK]))
        if len(others) <= CHUNK:
            query = query.where(few.in_(others))
        left.update((a, b) for a, b in connection.execute(query))
    return [pair for pair in pairs if pair not in left]
