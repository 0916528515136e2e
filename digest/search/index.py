"""The one interface both search engines offer, and the query logic they share.

An engine implements a handful of primitives (upsert, delete, one text search, one
people query of at most :data:`MAX_CLAUSES` ids, co-speaker counts, fingerprints and a
rebuild); :class:`SearchIndex` builds the public queries on them: splitting a people
query above 2,048 ids and merging the parts, and ranking co-speakers.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Self

from digest.search.documents import KINDS, DocKey, SearchDocument
from digest.search.folding import folded_words
from digest.stores.profile import Kind as ProfileKind
from digest.stores.profile import profiled

MAX_CLAUSES = 2_048  # person ids in one OR query on tantivy (Lanyrd's Solr limit); Solr takes any number
CO_SPEAKERS = 8
WHEN = ("upcoming", "past")
# Ranking, the same on every engine: a word in the title counts double, a word naming one of
# an event's topics triple (an event tagged Python is what "python" most likely wants); then
# a bonus by type, events first, and for events not yet over. Engines add the bonuses to the
# text score as constant scores (tantivy) or boost queries (Solr's bq).
FIELD_BOOSTS = {"title": 2.0, "tags": 3.0}
TYPE_BONUS = {"event": 3.0, "session": 1.5, "person": 1.0, "coverage": 0.5}
UPCOMING_BONUS = 2.0
PREFIX_MIN = 3  # the last word also matches as a prefix ("pyth" finds Python) from this length



class SearchError(RuntimeError):
    """The search engine could not answer; the message says what to check."""


@dataclass(frozen=True)
class TextQuery:
    """Full-text search with filters. ``when`` is relative to ``today``: upcoming means not
    yet ended (end date on or after today), past means ended."""

    text: str = ""
    types: tuple[str, ...] = ()
    topic: str | None = None
    city: str | None = None
    when: str | None = None
    pks: tuple[int, ...] = ()  # only these rows (of the type(s) asked for), e.g. an event's attendees
    today: dt.date = field(default_factory=dt.date.today)
    offset: int = 0
    limit: int = 20
    facets: bool = True  # False: the counts are not shown (a people directory), so not counted

    def __post_init__(self) -> None:
        unknown = set(self.types) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown document type(s) {', '.join(sorted(unknown))}; known: {', '.join(KINDS)}")
        if self.when not in (None, *WHEN):
            raise ValueError(f"when must be one of {', '.join(WHEN)}, not {self.when!r}")
        if self.offset < 0 or not 1 <= self.limit <= 1_000:
            raise ValueError("offset must be >= 0 and limit between 1 and 1000")

    @property
    def words(self) -> list[str]:
        """The query's words, folded as the index's text is (``digest.search.folding``): no query
        syntax from users reaches an engine."""
        return folded_words(self.text)

    @property
    def prefix(self) -> str | None:
        """The last word, which also matches as the start of a longer word (someone still
        typing it), when it is long enough to be worth it."""
        words = self.words
        return words[-1] if words and len(words[-1]) >= PREFIX_MIN else None


@dataclass(frozen=True)
class Hit:
    id: str
    type: str
    pk: int
    title: str
    body: str = ""  # the stored searchable text, for a snippet (digest/search/snippets.py)


@dataclass(frozen=True)
class Facets:
    """Counts per value, most first (ties by value). ``type`` ignores the type filter, so a
    page can show every tab's count; the others count the filtered results."""

    type: tuple[tuple[str, int], ...] = ()
    topic: tuple[tuple[str, int], ...] = ()
    city: tuple[tuple[str, int], ...] = ()
    when: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class SearchPage:
    total: int
    hits: tuple[Hit, ...]
    facets: Facets


@dataclass(frozen=True)
class EventHit:
    """An event found by the people query; who is there only when asked for (``with_people``)."""

    id: int
    start_date: dt.date
    attendee_ids: frozenset[int] | None = None
    speaker_ids: frozenset[int] | None = None

    @property
    def sort_key(self) -> tuple[dt.date, int]:
        return self.start_date, self.id


@dataclass(frozen=True)
class EventPage:
    total: int
    hits: tuple[EventHit, ...]


def ranked_counts(counts: dict) -> tuple[tuple, ...]:
    """Facet counts in one order for both engines: most first, then by value."""
    return tuple(
        sorted(((value, count) for value, count in counts.items() if count > 0), key=lambda vc: (-vc[1], vc[0]))
    )


class SearchIndex:
    """What lanyard asks of a search engine. Subclasses: TantivyIndex, SolrIndex."""

    backend = "abstract"
    # Person ids in one people query; more are split into parts and merged. None: any
    # number in one query (Solr's terms parser has no boolean-clause limit).
    max_clauses: int | None = MAX_CLAUSES

    # -- primitives each engine implements ---------------------------------------------

    def upsert(self, documents: Sequence[SearchDocument]) -> None:
        raise NotImplementedError

    def delete(self, keys: Sequence[DocKey]) -> None:
        raise NotImplementedError

    def search(self, query: TextQuery) -> SearchPage:
        raise NotImplementedError

    def _people_chunk(
        self, person_ids: Sequence[int], start: dt.date, end: dt.date, offset: int, limit: int | None
    ) -> EventPage:
        """Events with any of ≤ max_clauses people, start date in [start, end], by (date, id),
        without their people; ``limit`` None means all of them."""
        raise NotImplementedError

    def _event_ids_chunk(self, person_ids: Sequence[int], start: dt.date, end: dt.date) -> Iterable[int]:
        """The ids of every event _people_chunk would find, in no particular order."""
        return [hit.id for hit in self._people_chunk(person_ids, start, end, 0, None).hits]

    def people_at(self, event_ids: Iterable[int]) -> dict[int, tuple[frozenset[int], frozenset[int]]]:
        """Event id → (attendee ids, speaker ids), for the events in the index."""
        raise NotImplementedError

    def _speaker_counts(self, person_id: int) -> dict[int, int]:
        """Speaker id → number of events where they and ``person_id`` both speak."""
        raise NotImplementedError

    def fingerprints(self) -> Iterator[tuple[str, str]]:
        """(document id, fingerprint) of every document in the index."""
        raise NotImplementedError

    def document_count(self) -> int:
        """How many documents the live index holds."""
        raise NotImplementedError

    def rebuild(self, documents: Iterable[SearchDocument]) -> int:
        """Index ``documents`` into a fresh index and swap it in atomically; returns the count."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    @property
    def address(self) -> str:
        """Which engine this is, the same in every process that uses it: figures measured
        against it (the friends planner's costs) are kept in Redis under it."""
        raise NotImplementedError

    # -- shared logic --------------------------------------------------------------------

    @profiled(ProfileKind.SEARCH, "events with people")
    def events_with_people(
        self, person_ids: Iterable[int], start: dt.date, end: dt.date, *, offset: int = 0, limit: int | None = 50,
        with_people: bool = False,
    ) -> EventPage:
        """Events whose attendees or speakers include any of ``person_ids``, starting within
        [start, end], sorted by date then id, paged (``limit`` None: all). Above max_clauses
        ids the query is split, each part fetched whole and the parts merged. With
        ``with_people`` each hit carries the event's attendee and speaker ids."""
        ids = sorted(set(person_ids))
        if not ids or start > end:
            return EventPage(0, ())
        part = self.max_clauses or len(ids)
        if len(ids) <= part:
            page = self._people_chunk(ids, start, end, offset, limit)
        else:
            parts = [
                self._people_chunk(ids[i : i + part], start, end, 0, None).hits
                for i in range(0, len(ids), part)
            ]
            merged: list[EventHit] = []
            for hit in heapq.merge(*parts, key=lambda h: h.sort_key):
                if not merged or merged[-1].id != hit.id:  # two parts can find the same event
                    merged.append(hit)
            page = EventPage(len(merged), tuple(merged[offset:] if limit is None else merged[offset:offset + limit]))
        if not with_people:
            return page
        people = self.people_at(hit.id for hit in page.hits)
        return EventPage(page.total, tuple(EventHit(h.id, h.start_date, *people[h.id]) for h in page.hits))

    @profiled(ProfileKind.SEARCH, "event ids with people")
    def event_ids_with_people(self, person_ids: Iterable[int], start: dt.date, end: dt.date) -> set[int]:
        """The ids of all events events_with_people finds, unordered: what the digest needs."""
        ids = sorted(set(person_ids))
        found: set[int] = set()
        if ids and start <= end:
            part = self.max_clauses or len(ids)
            for i in range(0, len(ids), part):
                found.update(self._event_ids_chunk(ids[i:i + part], start, end))
        return found

    @profiled(ProfileKind.SEARCH, "co-speakers of")
    def co_speakers(self, person_id: int, limit: int = CO_SPEAKERS) -> list[tuple[int, int]]:
        """The people this speaker most often speaks at the same events with, as (person id,
        shared events), most first, ties by id."""
        counts = self._speaker_counts(person_id)
        counts.pop(person_id, None)
        return list(ranked_counts(counts)[:limit])

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
