"""The embedded search engine: a tantivy index directory under the data directory.

Layout of ``LANYARD_SEARCH_URL``'s directory::

    current -> gen-000007     a symlink naming the live generation
    gen-000007/               a tantivy index
    gen-000006/               the previous one, kept for readers that still hold it

One writer, many readers: tantivy locks a generation's directory for its single
``IndexWriter`` (a second writer anywhere gets :class:`SearchBusy` and retries later),
while any number of processes read. A rebuild writes a new generation beside the live
one and swaps the symlink with one ``rename``, so readers see the old index or the new
one, never half of one. Readers resolve the symlink and read the generation's
``meta.json`` before each query and reopen only when either changed. Every commit rewrites
``meta.json`` (its opstamp grows), so the pair also names what a search would answer: a
process keeps its last answers (``ANSWERS_KEPT``) under it, and a commit anywhere, a rebuild
or a new day (``TextQuery.today``) makes the next search ask the index again.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import re
import shutil
import socket
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import tantivy

from digest.search.documents import PK_MASK, DocKey, SearchDocument, from_sort_key
from digest.search.index import (
    FIELD_BOOSTS,
    TYPE_BONUS,
    UPCOMING_BONUS,
    EventHit,
    EventPage,
    Facets,
    Hit,
    SearchError,
    SearchIndex,
    SearchPage,
    TextQuery,
    ranked_counts,
)
from digest.search.tantivy_schema import SCHEMA, SCHEMA_FILE, SCHEMA_VERSION, moment, to_tantivy, unpack_people
from digest.stores.profile import Kind as ProfileKind
from digest.stores.profile import profiled

Must, Should = tantivy.Occur.Must, tantivy.Occur.Should

WRITER_HEAP = 64_000_000
REBUILD_HEAP = 256_000_000
REBUILD_COMMIT_EVERY = 200_000  # documents between commits while rebuilding (bounds memory)
# "All the hits": one search when they fit (a digest window holds a few thousand events), else a second.
ALL_FIRST_TRY = 4_096
_GENERATION = re.compile(r"^gen-(\d{6,})$")
# Search answers kept per process for the index as it is: the search page's repeated
# queries skip tantivy (six searches and aggregations, about 2 ms on the bench data).
ANSWERS_KEPT = 1_024


class SearchBusy(SearchError):
    """Another process holds the index's single writer; try again shortly."""


class TantivyIndex(SearchIndex):
    backend = "tantivy"

    def __init__(self, path: Path):
        self.path = Path(path)
        self._opened: tuple | None = None  # (generation dir, meta.json's bytes)
        self._index: Any = None  # a tantivy.Index once opened
        # (the _opened it answered for, {TextQuery: SearchPage}): replaced whole, never
        # emptied in place under a thread reading it.
        self._answers: tuple[tuple | None, dict[TextQuery, SearchPage]] = (None, {})

    @property
    def address(self) -> str:
        # The directory is local to its host: the same path elsewhere is another index.
        return f"tantivy://{socket.gethostname()}{self.path.absolute()}"

    # -- generations -----------------------------------------------------------------

    @property
    def current_link(self) -> Path:
        return self.path / "current"

    @contextmanager
    def _layout_lock(self) -> Iterator[None]:
        """Serialises creating and swapping generations (not reads, not document writes)."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / ".layout.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def generation_dir(self) -> Path:
        """The live generation's directory, making an empty first one if there is none."""
        try:
            return self.path / os.readlink(self.current_link)
        except FileNotFoundError:
            pass
        with self._layout_lock():
            if not self.current_link.is_symlink():
                directory = self._new_generation()
                self._create(directory)
                self._point_at(directory)
        return self.path / os.readlink(self.current_link)

    def _generations(self) -> list[Path]:
        if not self.path.exists():
            return []
        found = [(int(m.group(1)), entry) for entry in self.path.iterdir() if (m := _GENERATION.match(entry.name))]
        return [entry for _, entry in sorted(found)]

    def _new_generation(self) -> Path:
        existing = self._generations()
        last = _GENERATION.match(existing[-1].name) if existing else None
        number = int(last.group(1)) + 1 if last else 1  # _generations() lists matching names only
        directory = self.path / f"gen-{number:06d}"
        directory.mkdir(parents=True)
        return directory

    @staticmethod
    def _create(directory: Path) -> tantivy.Index:
        index = tantivy.Index(SCHEMA, path=str(directory))
        (directory / SCHEMA_FILE).write_text(SCHEMA_VERSION)
        return index

    def _point_at(self, directory: Path) -> None:
        temporary = self.path / f".current.{os.getpid()}"
        temporary.unlink(missing_ok=True)
        os.symlink(directory.name, temporary)
        os.replace(temporary, self.current_link)  # rename(2): atomic for every reader

    # -- reading ------------------------------------------------------------------------

    def _searcher(self) -> tantivy.Searcher:
        return self._current()[0]

    def _current(self) -> tuple[tantivy.Searcher, tuple]:
        """A searcher on the live generation as it is now, and what names that state."""
        directory = self.generation_dir()
        try:
            stamp = (directory, (directory / "meta.json").read_bytes())
        except FileNotFoundError as error:
            raise SearchError(f"the search index at {directory} is damaged; run `lanyard search rebuild`") from error
        if self._opened is None or self._opened[0] != directory:
            try:
                version = (directory / SCHEMA_FILE).read_text().strip()
            except FileNotFoundError:
                version = "?"
            if version != SCHEMA_VERSION:
                raise SearchError(
                    f"the search index at {directory} was built by another version of lanyard "
                    f"(schema {version}, this one reads {SCHEMA_VERSION}); run `lanyard search rebuild`"
                )
            self._index = tantivy.Index.open(str(directory))
            self._index.config_reader("manual")
        elif self._opened == stamp:
            return self._index.searcher(), stamp
        self._index.reload()
        self._opened = stamp
        return self._index.searcher(), stamp

    def document_count(self) -> int:
        return self._searcher().num_docs

    @profiled(ProfileKind.SEARCH, "search")
    def search(self, query: TextQuery) -> SearchPage:
        searcher, stamp = self._current()
        answers = self._answers
        if answers[0] != stamp:
            answers = self._answers = (stamp, {})
        page = answers[1].get(query)
        if page is None:
            page = self._search(searcher, query)
            if len(answers[1]) >= ANSWERS_KEPT:
                answers = self._answers = (stamp, {})
            answers[1][query] = page
        return page

    def _search(self, searcher: tantivy.Searcher, query: TextQuery) -> SearchPage:
        text = self._ranked(self._text_query(query), query)
        filters = self._filters(query)
        found = searcher.search(_all(text, *filters.values()), limit=query.offset + query.limit, offset=0)
        hits = []
        for _, address in found.hits[query.offset:]:
            stored = searcher.doc(address)
            hits.append(Hit(
                stored.get_first("id"), stored.get_first("type"), stored.get_first("pk"), stored.get_first("title"),
                stored.get_first("body") or "",
            ))
        if not query.facets:
            return SearchPage(found.count, tuple(hits), Facets())

        def without(name: str) -> tantivy.Query:
            return _all(text, *(q for key, q in filters.items() if key != name))

        def terms(name: str, field: str) -> tuple:
            answer = searcher.aggregate(without(name), {"f": {"terms": {"field": field, "size": 10_000}}})
            return ranked_counts({b["key"]: b["doc_count"] for b in answer["f"]["buckets"]})

        base = without("when")
        when = {
            name: searcher.search(_all(base, self._when(name, query.today)), limit=1).count
            for name in ("upcoming", "past")
        }
        facets = Facets(
            type=terms("type", "type"),
            topic=terms("topic", "topics"),
            city=terms("city", "city"),
            when=ranked_counts(when),
        )
        return SearchPage(found.count, tuple(hits), facets)

    def _text_query(self, query: TextQuery) -> tantivy.Query:
        """Every word required (stemmed, in the title, the catch-all or the tags); the last
        also as a prefix when long enough (``TextQuery.prefix``)."""
        words = query.words
        if not words:
            return tantivy.Query.all_query()
        if query.prefix is None:
            return self._words(words)
        last = tantivy.Query.boolean_query([
            (Should, self._words(words[-1:])),
            *((Should, tantivy.Query.regex_query(SCHEMA, field, query.prefix + "[a-z0-9]*"))
              for field in ("title_folded", "text")),
        ])
        return _all(self._words(words[:-1]), last) if len(words) > 1 else last

    def _words(self, words: list[str]) -> tantivy.Query:
        return self._parser().parse_query(
            " ".join(words),
            default_field_names=["title_folded", "text", "tags"],
            field_boosts={"title_folded": FIELD_BOOSTS["title"], "tags": FIELD_BOOSTS["tags"]},
            conjunction_by_default=True,
        )

    def _ranked(self, text: tantivy.Query, query: TextQuery) -> tantivy.Query:
        """The text query plus the shared bonuses (``index.TYPE_BONUS``, ``UPCOMING_BONUS``), which
        change the order, never what matches."""
        if not query.words:
            return text
        bonuses = [
            tantivy.Query.const_score_query(tantivy.Query.term_query(SCHEMA, "type", kind), bonus)
            for kind, bonus in TYPE_BONUS.items()
        ]
        bonuses.append(tantivy.Query.const_score_query(self._when("upcoming", query.today), UPCOMING_BONUS))
        return tantivy.Query.boolean_query([(Must, text), *((Should, bonus) for bonus in bonuses)])

    def _parser(self) -> tantivy.Index:
        self._searcher()
        return self._index

    def _filters(self, query: TextQuery) -> dict[str, tantivy.Query]:
        filters = {}
        if query.types:
            filters["type"] = tantivy.Query.term_set_query(SCHEMA, "type", list(query.types))
        if query.topic:
            filters["topic"] = tantivy.Query.term_query(SCHEMA, "topics", query.topic)
        if query.city:
            filters["city"] = tantivy.Query.term_query(SCHEMA, "city", query.city)
        if query.when:
            filters["when"] = self._when(query.when, query.today)
        if query.pks:
            filters["pks"] = tantivy.Query.term_set_query(SCHEMA, "pk", [int(pk) for pk in query.pks])
        return filters

    @staticmethod
    def _when(name: str, today: dt.date) -> tantivy.Query:
        if name == "upcoming":
            return tantivy.Query.range_query(SCHEMA, "end_date", tantivy.FieldType.Date, moment(today), None)
        return tantivy.Query.range_query(
            SCHEMA, "end_date", tantivy.FieldType.Date, None, moment(today), include_upper=False
        )

    def _sorted_keys(
        self, person_ids: Sequence[int], start: dt.date, end: dt.date, offset: int, limit: int | None
    ) -> tuple[int, list[int]]:
        """(total, sort keys of the page): ordered by a fast field, each hit comes with its
        value, and the sort key holds the date and the id, so no stored document is read."""
        searcher = self._searcher()
        query = _all(  # only events carry people_ids
            tantivy.Query.term_set_query(SCHEMA, "people_ids", [str(p) for p in person_ids]),
            tantivy.Query.range_query(SCHEMA, "start_date", tantivy.FieldType.Date, moment(start), moment(end)),
        )

        def run(wanted: int) -> Any:
            return searcher.search(
                query, limit=max(1, wanted), offset=offset, order_by_field="sort_key", order=tantivy.Order.Asc
            )

        found = run(limit if limit is not None else ALL_FIRST_TRY)
        if limit is None and found.count > offset + len(found.hits):
            found = run(found.count - offset)
        return found.count, [key for key, _ in found.hits]

    def _people_chunk(
        self, person_ids: Sequence[int], start: dt.date, end: dt.date, offset: int, limit: int | None
    ) -> EventPage:
        total, keys = self._sorted_keys(person_ids, start, end, offset, limit)
        return EventPage(total, tuple(EventHit(pk, day) for day, pk in map(from_sort_key, keys)))

    def _event_ids_chunk(self, person_ids: Sequence[int], start: dt.date, end: dt.date) -> list[int]:
        return [key & PK_MASK for key in self._sorted_keys(person_ids, start, end, 0, None)[1]]

    def people_at(self, event_ids: Iterable[int]) -> dict[int, tuple[frozenset[int], frozenset[int]]]:
        ids = list(set(event_ids))
        if not ids:
            return {}
        searcher = self._searcher()
        query = _all(tantivy.Query.term_query(SCHEMA, "type", "event"), tantivy.Query.term_set_query(SCHEMA, "pk", ids))
        addresses = [address for _, address in searcher.search(query, limit=len(ids)).hits]
        pks = searcher.fast_field_values("pk", addresses)
        return {
            pk: unpack_people(searcher.doc(address).get_first("people"))
            for pk, address in zip(pks, addresses, strict=False)
        }

    def _speaker_counts(self, person_id: int) -> dict[int, int]:
        searcher = self._searcher()
        query = _all(
            tantivy.Query.term_query(SCHEMA, "type", "event"),
            tantivy.Query.term_query(SCHEMA, "speaker_ids", person_id),
        )
        answer = searcher.aggregate(query, {"s": {"terms": {"field": "speaker_ids", "size": 100_000}}})
        return {int(b["key"]): b["doc_count"] for b in answer["s"]["buckets"]}

    def fingerprints(self) -> Iterator[tuple[str, str]]:
        searcher = self._searcher()
        total = searcher.num_docs
        if not total:
            return
        for _, address in searcher.search(tantivy.Query.all_query(), limit=total).hits:
            stored = searcher.doc(address)
            yield stored.get_first("id"), stored.get_first("fingerprint")

    # -- writing -----------------------------------------------------------------------

    @contextmanager
    def _writer(self, index: tantivy.Index, heap: int = WRITER_HEAP) -> Iterator[Any]:
        try:
            writer = index.writer(heap_size=heap, num_threads=1)
        except ValueError as error:
            if "LockBusy" in str(error):
                raise SearchBusy("another process is writing the search index; try again shortly") from error
            raise
        try:
            yield writer
            writer.commit()
        except BaseException:
            writer.rollback()
            raise
        finally:
            # Lets merges of the small segments finish, then releases the directory's lock.
            writer.wait_merging_threads()

    def _live_index(self) -> tantivy.Index:
        self._searcher()
        return self._index

    def upsert(self, documents: Sequence[SearchDocument]) -> None:
        if not documents:
            return
        with self._writer(self._live_index()) as writer:
            for document in documents:
                writer.delete_documents_by_term("id", document.id)
                writer.add_document(to_tantivy(document))

    def delete(self, keys: Sequence[DocKey]) -> None:
        if not keys:
            return
        with self._writer(self._live_index()) as writer:
            for key in keys:
                writer.delete_documents_by_term("id", key.id)

    def rebuild(self, documents: Iterable[SearchDocument]) -> int:
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / ".rebuild.lock", "w") as rebuilding:
            try:
                fcntl.flock(rebuilding, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SearchBusy(f"a rebuild of {self.path} is already running") from None
            return self._rebuild(documents)

    def _rebuild(self, documents: Iterable[SearchDocument]) -> int:
        with self._layout_lock():
            directory = self._new_generation()
        count = 0
        try:
            index = self._create(directory)
            writer = index.writer(heap_size=REBUILD_HEAP, num_threads=2)
            for document in documents:
                writer.add_document(to_tantivy(document))
                count += 1
                if count % REBUILD_COMMIT_EVERY == 0:
                    writer.commit()
            writer.commit()
            writer.wait_merging_threads()
            del writer
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        with self._layout_lock():
            self._point_at(directory)
            # Keep the generation just replaced (a reader may be mid-query on it); older go.
            for old in self._generations()[:-2]:
                if old != directory:
                    shutil.rmtree(old, ignore_errors=True)
        return count

    def close(self) -> None:
        self._index = None
        self._opened = None


def _all(*queries: tantivy.Query) -> tantivy.Query:
    if len(queries) == 1:
        return queries[0]
    return tantivy.Query.boolean_query([(Must, q) for q in queries])
