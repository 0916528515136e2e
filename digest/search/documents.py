"""What the search index holds: one flat document per event, session, person and coverage.

Documents are plain values built from database rows, so both engines index exactly the
same thing and ``lanyard search check`` can compare an index with the database by a
fingerprint of each document's content. They are loaded in batches of ids, the same
code path serving the after-commit sync (a few ids) and the rebuild (every id).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from digest.search.folding import fold
from digest.stores import db
from digest.vocabulary import GRAPH_ROLES, CoverageStatus, Role

KINDS = ("event", "session", "person", "coverage")
LOAD_BATCH = 1_000


@dataclass(frozen=True, slots=True)
class DocKey:
    """Which row a document mirrors: ("event", 12) is document id "event:12"."""

    kind: str
    pk: int

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.pk}"

    @classmethod
    def parse(cls, value: str | bytes) -> DocKey:
        """"event:12" → DocKey("event", 12); ValueError for anything else."""
        text = value.decode() if isinstance(value, bytes) else value
        kind, _, pk = text.partition(":")
        if kind not in KINDS or not pk.isdigit():
            raise ValueError(f"not a search document id: {text!r}")
        return cls(kind, int(pk))


@dataclass(frozen=True, slots=True)
class SearchDocument:
    """One indexed thing. ``title`` and ``body`` are its searchable text; the rest filters,
    facets and sorts. Person ids are sorted tuples so equal content means equal values."""

    type: str
    pk: int
    title: str
    body: str = ""
    handle: str = ""
    kind: str = ""
    topics: tuple[str, ...] = ()
    city: str = ""
    country: str = ""
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    event_id: int | None = None
    session_id: int | None = None
    attendee_ids: tuple[int, ...] = ()  # attendance role "attending"
    speaker_ids: tuple[int, ...] = ()  # attendance role "speaking" (events), session speakers (sessions)

    @property
    def id(self) -> str:
        return f"{self.type}:{self.pk}"

    @property
    def key(self) -> DocKey:
        return DocKey(self.type, self.pk)

    @property
    def people_ids(self) -> tuple[int, ...]:
        """Everyone at an event, attending or speaking: the field the OR query searches
        (events only: a session's speakers are not "at" anything for the digest)."""
        if self.type != "event":
            return ()
        return tuple(sorted({*self.attendee_ids, *self.speaker_ids}))

    @property
    def sort_key(self) -> int:
        """Start day then id in one integer, so "by date" is a total order on one fast field."""
        return sort_key(self.start_date, self.pk)

    @property
    def folded_title(self) -> str:
        return fold(self.title)

    @property
    def folded_text(self) -> list[str]:
        """Everything a visitor might type, folded (``digest.search.folding``): the catch-all field."""
        return [fold(value) for value in (self.title, self.body, self.handle, *self.topics, self.city, self.country,
                                          self.kind) if value]

    @property
    def folded_tags(self) -> list[str]:
        """An event's topic names, folded: a match there ranks the event first."""
        return [fold(topic) for topic in self.topics]

    def filter_fields(self) -> dict:
        """The set ones of the plain filter fields, as both engines store them."""
        fields = {name: getattr(self, name) for name in ("handle", "kind", "city", "country") if getattr(self, name)}
        fields.update(
            (name, getattr(self, name)) for name in ("event_id", "session_id") if getattr(self, name) is not None
        )
        return fields

    @property
    def fingerprint(self) -> str:
        """A digest of the content; a stored one differing from the database's means stale."""
        content = repr(tuple(getattr(self, name) for name in self.__slots__))
        return hashlib.blake2b(content.encode(), digest_size=10).hexdigest()


EPOCH = dt.date(1970, 1, 1)
_PK_BITS = 40
PK_MASK = (1 << _PK_BITS) - 1


def sort_key(day: dt.date | None, pk: int) -> int:
    return ((day - EPOCH).days if day else 0) << _PK_BITS | pk


def from_sort_key(key: int) -> tuple[dt.date, int]:
    """(start date, pk) back from a sort key."""
    return EPOCH + dt.timedelta(days=key >> _PK_BITS), key & PK_MASK


def load_documents(connection: Connection, keys: Iterable[DocKey]) -> tuple[list[SearchDocument], list[DocKey]]:
    """The documents for ``keys`` as the database has them now, and the keys whose row is gone."""
    by_kind: dict[str, set[int]] = {}
    for key in keys:
        by_kind.setdefault(key.kind, set()).add(key.pk)
    documents: list[SearchDocument] = []
    gone: list[DocKey] = []
    for kind, pks in by_kind.items():
        ordered = sorted(pks)
        found: set[int] = set()
        for start in range(0, len(ordered), LOAD_BATCH):
            for document in _LOADERS[kind](connection, ordered[start:start + LOAD_BATCH]):
                found.add(document.pk)
                documents.append(document)
        gone += [DocKey(kind, pk) for pk in ordered if pk not in found]
    return documents, gone


def stream_documents(connection: Connection, kinds: Sequence[str] = KINDS) -> Iterator[SearchDocument]:
    """Every document the database implies, a batch of rows at a time."""
    for kind in kinds:
        table = _TABLES[kind]
        ids = connection.execute(select(table.c.id).order_by(table.c.id)).scalars().all()
        for start in range(0, len(ids), LOAD_BATCH):
            yield from _LOADERS[kind](connection, ids[start:start + LOAD_BATCH])


def _grouped(rows: Iterable[Any]) -> dict[int, list]:
    grouped: dict[int, list] = {}
    for owner, value in rows:
        grouped.setdefault(owner, []).append(value)
    return grouped


def _events(connection: Connection, ids: Sequence[int]) -> Iterator[SearchDocument]:
    e, et, t, a = db.event_, db.event_topic, db.topic, db.attendance
    topics = _grouped(connection.execute(
        select(et.c.event_id, t.c.name).join(t, t.c.id == et.c.topic_id).where(et.c.event_id.in_(ids))
    ))
    attending: dict[int, list[int]] = {}
    speaking: dict[int, list[int]] = {}
    for person_id, event_id, role in connection.execute(
        select(a.c.person_id, a.c.event_id, a.c.role).where(a.c.event_id.in_(ids), a.c.role.in_(GRAPH_ROLES))
    ):
        (speaking if role == Role.SPEAKING else attending).setdefault(event_id, []).append(person_id)
    rows = connection.execute(
        select(e.c.id, e.c.name, e.c.description, e.c.city, e.c.country, e.c.start_date, e.c.end_date)
        .where(e.c.id.in_(ids))
    )
    for row in rows:
        yield SearchDocument(
            type="event", pk=row.id, title=row.name, body=row.description,
            topics=tuple(sorted(topics.get(row.id, ()))), city=row.city, country=row.country,
            start_date=row.start_date, end_date=row.end_date,
            attendee_ids=tuple(sorted(attending.get(row.id, ()))),
            speaker_ids=tuple(sorted(speaking.get(row.id, ()))),
        )


def _sessions(connection: Connection, ids: Sequence[int]) -> Iterator[SearchDocument]:
    s, ss = db.session, db.session_speaker
    speakers = _grouped(connection.execute(select(ss.c.session_id, ss.c.person_id).where(ss.c.session_id.in_(ids))))
    rows = connection.execute(
        select(s.c.id, s.c.event_id, s.c.title, s.c.abstract, s.c.starts_at).where(s.c.id.in_(ids))
    )
    for row in rows:
        day = _utc_day(row.starts_at)
        yield SearchDocument(
            type="session", pk=row.id, title=row.title, body=row.abstract, event_id=row.event_id,
            start_date=day, end_date=day, speaker_ids=tuple(sorted(set(speakers.get(row.id, ())))),
        )


def _people(connection: Connection, ids: Sequence[int]) -> Iterator[SearchDocument]:
    p = db.person
    for row in connection.execute(select(p.c.id, p.c.name, p.c.handle, p.c.bio).where(p.c.id.in_(ids))):
        yield SearchDocument(type="person", pk=row.id, title=row.name, body=row.bio, handle=row.handle)


def _coverage(connection: Connection, ids: Sequence[int]) -> Iterator[SearchDocument]:
    c = db.coverage
    # A refused link is its author's alone: never in the index (its document is deleted).
    rows = connection.execute(select(c.c.id, c.c.event_id, c.c.session_id, c.c.kind, c.c.title)
                              .where(c.c.id.in_(ids), c.c.status != CoverageStatus.REFUSED))
    for row in rows:
        yield SearchDocument(
            type="coverage", pk=row.id, title=row.title, kind=row.kind,
            event_id=row.event_id, session_id=row.session_id,
        )


def _utc_day(moment: dt.datetime | None) -> dt.date | None:
    if moment is None:
        return None
    if moment.tzinfo is not None:  # SQLite hands back naive UTC, PostgreSQL aware
        moment = moment.astimezone(dt.UTC)
    return moment.date()


_LOADERS = {"event": _events, "session": _sessions, "person": _people, "coverage": _coverage}
_TABLES = {"event": db.event_, "session": db.session, "person": db.person, "coverage": db.coverage}
