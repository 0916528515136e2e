"""Row factories for tests of the Django-free core: real inserts, sensible defaults.

Each ``make_*`` inserts one row through SQLAlchemy Core and returns its id. Tests of
the site use Django's ORM instead.
"""

from __future__ import annotations

import datetime as dt
import itertools

from digest.stores import db

_counter = itertools.count(1)
NOW = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


def _insert(connection, table, values) -> int:
    return connection.execute(table.insert().values(**values)).inserted_primary_key[0]


def make_person(connection, **values) -> int:
    n = next(_counter)
    return _insert(connection, db.person, {
        "name": f"Person {n}", "handle": f"person{n}", "bio": "", "avatar_url": "",
        "timezone": "UTC", "cache_version": 1, "user_id": None, **values,
    })


def make_follow(connection, follower_id: int, followee_id: int, source: str = "manual") -> int:
    return _insert(connection, db.follow, {
        "follower_id": follower_id, "followee_id": followee_id, "created_at": NOW, "source": source,
    })


def make_account(connection, person_id: int, provider: str, external_id: str, **values) -> int:
    return _insert(connection, db.account, {
        "person_id": person_id, "provider": provider, "external_id": external_id,
        "handle": values.pop("handle", external_id), "profile_url": "", "verified": False, "verified_via": "",
        "verified_at": None, "added_by": "test", "created_at": NOW, "fetched_at": None, "fetch_etag": "",
        "following_count": 0, "following_capped": False, "fetch_error": "", "fetch_error_at": None, **values,
    })


def make_event(connection, start_date: dt.date, **values) -> int:
    n = next(_counter)
    return _insert(connection, db.event_, {
        "name": f"Event {n}", "slug": f"event-{n}", "description": "", "start_date": start_date,
        "end_date": values.pop("end_date", start_date), "timezone": "UTC", "venue": "", "city": "Lisbon",
        "country": "Portugal", "url": "", "cfp_deadline": None, "cache_version": 1, "created_at": NOW, **values,
    })


def make_attendance(connection, person_id: int, event_id: int, role: str = "attending") -> int:
    return _insert(
        connection, db.attendance, {"person_id": person_id, "event_id": event_id, "role": role, "created_at": NOW}
    )


def make_subscription(connection, person_id: int, **values) -> int:
    n = next(_counter)
    return _insert(connection, db.subscription, {
        "list": "daily", "status": "active", "email": f"subscriber{n}@example.com", "send_hour": 7,
        "last_sent_date": None, "created_at": NOW, "updated_at": NOW, "person_id": person_id, **values,
    })


class QueuedWork:
    """A :class:`digest.runs.state.RunQueue` that keeps what it is handed, for tests of the
    run's services without a broker (the Celery one is ``scheduler.enqueue.Enqueue``)."""

    def __init__(self) -> None:
        self.chunk_ids: list[int] = []
        self.finished: list[int] = []

    def chunks(self, chunk_ids, *, countdown: float = 0) -> None:
        self.chunk_ids.extend(chunk_ids)

    def finish(self, run_id: int, *, countdown: float = 0) -> None:
        self.finished.append(run_id)
