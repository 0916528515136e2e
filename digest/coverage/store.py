"""Coverage rows in the core: fetch one and record what was found; find the ones due again.

The site stores a pasted link (``status=fetching``, titled by its URL) and sends the fetch
task; the task calls :func:`coverage_fetch`. A temporary failure (timed out, connection
failed, HTTP 5xx) leaves the row fetching for the task's retry; the last attempt, or a
permanent failure, marks it failed with the reason (a ``LinkFailure``) and keeps the link.
A link the guarded client refuses (a private address, a port, not a web address) is
``refused``: shown to its author only. A row fetched before (``ok``) is refetched with its
validators, and a failure then keeps what it had, unless the link is now refused.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, update

from digest.coverage.failures import failure_of
from digest.coverage.metadata import TITLE_LENGTH, fetch_metadata
from digest.coverage.values import FetchOutcome, FetchResult
from digest.http import HttpClient, HttpError, Refused
from digest.stores import db
from digest.vocabulary import CoverageStatus

REVALIDATE_AFTER = dt.timedelta(days=30)
STUCK_AFTER = dt.timedelta(minutes=15)  # a fetching row whose task was lost (broker down, worker killed)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def coverage_fetch(engine: Engine, client: HttpClient, *, coverage_id: int, last_attempt: bool,
                   now: dt.datetime | None = None) -> FetchResult:
    """Fetch one coverage row's link and record the result."""
    c = db.coverage
    now = now or _now()
    with engine.connect() as connection:
        row = connection.execute(select(c.c.url, c.c.status, c.c.kind, c.c.etag, c.c.last_modified)
                                 .where(c.c.id == coverage_id)).mappings().first()
    if row is None:
        return FetchResult(FetchOutcome.GONE)
    revalidating = row["status"] == CoverageStatus.OK
    try:
        found = fetch_metadata(client, row["url"], etag=row["etag"] if revalidating else "",
                               last_modified=row["last_modified"] if revalidating else "")
    except HttpError as error:
        failure = failure_of(error)
        refused = isinstance(error, Refused)
        if refused:
            # Even a link shown before: its name now leads somewhere lanyard never goes.
            values = {"status": CoverageStatus.REFUSED, "failure": failure, "fetched_at": now}
            outcome = FetchOutcome.FAILED
        elif error.temporary and not last_attempt:
            values = {"failure": failure, "fetched_at": now}
            outcome = FetchOutcome.RETRY
        elif revalidating:
            values = {"fetched_at": now}  # what it showed is still the best we know
            outcome = FetchOutcome.FAILED
        else:
            values = {"status": CoverageStatus.FAILED, "failure": failure, "fetched_at": now}
            outcome = FetchOutcome.FAILED
        _update(engine, coverage_id, values)
        return FetchResult(outcome, failure, refused=refused, detail=error.reason[:200])
    if found.not_modified:
        _update(engine, coverage_id, {"fetched_at": now, "status": CoverageStatus.OK, "failure": ""})
        return FetchResult(FetchOutcome.NOT_MODIFIED)
    _update(engine, coverage_id, {
        "status": CoverageStatus.OK, "failure": "", "title": found.title[:TITLE_LENGTH],
        "kind": row["kind"] or found.kind, "provider": found.provider, "embed_id": found.embed_id,
        "thumbnail_url": found.thumbnail_url, "etag": found.etag, "last_modified": found.last_modified,
        "fetched_at": now,
    })
    return FetchResult(FetchOutcome.OK)


def _update(engine: Engine, coverage_id: int, values: dict) -> None:
    with engine.begin() as connection:
        connection.execute(update(db.coverage).where(db.coverage.c.id == coverage_id).values(**values))
        _touch_shown(connection, coverage_id)


def _touch_shown(connection: Connection, coverage_id: int) -> None:
    """Bump the cache_version of the event the coverage is about (its own, or its talk's)
    and of its talk's speakers: the site keeps event and person pages' coverage blocks
    under them for visitors not signed in
    (lanyard_site/personal/cascades.py does the same for the site's own writes)."""
    c, s, e = db.coverage, db.session, db.event_
    own = select(c.c.event_id).where(c.c.id == coverage_id, c.c.event_id.is_not(None))
    of_talk = select(s.c.event_id).join(c, c.c.session_id == s.c.id).where(c.c.id == coverage_id)
    connection.execute(update(e).where(e.c.id.in_(own.union(of_talk))).values(cache_version=e.c.cache_version + 1))
    p, speakers = db.person, db.session_speaker
    of_speakers = select(speakers.c.person_id).join(c, c.c.session_id == speakers.c.session_id).where(
        c.c.id == coverage_id)
    connection.execute(update(p).where(p.c.id.in_(of_speakers)).values(cache_version=p.c.cache_version + 1))


def coverage_due(engine: Engine, *, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Coverage to fetch again: fetched more than 30 days ago, or fetching and lost."""
    c = db.coverage
    now = now or _now()
    stale = and_(c.c.status == CoverageStatus.OK, c.c.fetched_at.is_not(None), c.c.fetched_at < now - REVALIDATE_AFTER)
    last_try = func.coalesce(c.c.fetched_at, c.c.created_at)
    stuck = and_(c.c.status == CoverageStatus.FETCHING, last_try < now - STUCK_AFTER)
    query = select(c.c.id).where(or_(stale, stuck)).order_by(func.coalesce(c.c.fetched_at, c.c.created_at)).limit(limit)
    with engine.connect() as connection:
        return list(connection.execute(query).scalars())


def coverage_add(engine: Engine, *, url: str, session_id: int | None = None, event_id: int | None = None,
                 now: dt.datetime | None = None) -> int:
    """Store a link to fetch (the CLI's --talk/--event); the site has its own service with the user."""
    with engine.begin() as connection:
        coverage_id = connection.execute(insert(db.coverage).values(
            event_id=event_id, session_id=session_id, kind="", title=url[:TITLE_LENGTH], url=url,
            created_at=now or _now(), status=CoverageStatus.FETCHING, failure="", provider="", embed_id="",
            thumbnail_url="", etag="", last_modified="", fetched_at=None, added_by_id=None,
        ).returning(db.coverage.c.id)).scalar_one()
        _touch_shown(connection, coverage_id)
        return coverage_id
