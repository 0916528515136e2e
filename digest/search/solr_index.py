"""Apache Solr for production, through pysolr: SolrCloud replicates and shards the index.

The configset is ``digest/search/solr/conf`` (README: "Search on Solr"). Every query is
built by a pure function below (``*_params``) returning the exact request parameters,
so their shape is tested without a Solr server; :class:`SolrIndex` only sends them.

A rebuild fills a new collection and points the alias at it (SolrCloud), or fills a new
core and SWAPs it in (standalone): ``digest/search/solr_admin.py``. Readers see the whole
old index until the swap, then the whole new one.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import pysolr

from digest.search.documents import DocKey, SearchDocument
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
from digest.search.solr_admin import SolrAdmin
from digest.stores.profile import Kind as ProfileKind
from digest.stores.profile import profiled

# pysolr logs every request at INFO (URL and body); lanyard's profiler already times them.
logging.getLogger("pysolr").setLevel(logging.WARNING)

TIMEOUT = 10  # seconds
ADD_BATCH = 1_000
PAGE = 1_000
ADMIN_TIMEOUT = 120  # seconds: creating or deleting a collection waits for every replica
ROUNDS = 2  # tries of every node before a request fails
RETRY_PAUSE = 0.5  # seconds between rounds


def solr_date(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def solr_document(document: SearchDocument, generation: int = 0) -> dict:
    fields = {
        "id": document.id, "type": document.type, "pk": document.pk, "title": document.title, "body": document.body,
        "fingerprint": document.fingerprint, "generation": generation,
        # Searched: folded copies (digest.search.folding), the same text tantivy indexes.
        "title_folded": document.folded_title, "text": document.folded_text,
    }
    if document.topics:
        fields["tags"] = document.folded_tags
    fields.update(document.filter_fields())
    for name in ("topics", "attendee_ids", "speaker_ids", "people_ids"):
        if getattr(document, name):
            fields[name] = list(getattr(document, name))
    for name in ("start_date", "end_date"):
        if getattr(document, name) is not None:
            fields[name] = solr_date(getattr(document, name))
    return fields


def when_filter(name: str, today: dt.date) -> str:
    if name == "upcoming":
        return f"end_date:[{solr_date(today)} TO *]"
    return f"end_date:[* TO {solr_date(today)}}}"


# The fields a word is looked for in, with their boosts: the same as tantivy's (index.FIELD_BOOSTS).
WORD_FIELDS = (("title_folded", FIELD_BOOSTS["title"]), ("text", 1.0), ("tags", FIELD_BOOSTS["tags"]))
PREFIX_FIELDS = ("title_folded", "text")  # where the last word also matches as a prefix, as on tantivy


def _word_clause(word: str, prefix: bool) -> str:
    """One required word: in any of the word fields (scores summed, as tantivy's parser
    does), or, for the last word, as the start of a longer word."""
    options = [f"{name}:{word}" + (f"^{boost:g}" if boost != 1.0 else "") for name, boost in WORD_FIELDS]
    if prefix:
        options += [f"{name}:{word}*" for name in PREFIX_FIELDS]
    return "+(" + " ".join(options) + ")"


def text_q(query: TextQuery) -> str:
    """The text query in Solr's standard syntax, built only from folded words ([a-z0-9]+, so no
    user syntax gets through): every word required, then the shared ranking bonuses
    (index.TYPE_BONUS, UPCOMING_BONUS) as optional constant-score clauses, which change the
    order, never what matches: tantivy's query, clause for clause."""
    words = query.words
    if not words:
        return "*:*"
    clauses = [_word_clause(word, prefix=query.prefix is not None and i == len(words) - 1)
               for i, word in enumerate(words)]
    clauses += [f"type:{kind}^={bonus:g}" for kind, bonus in TYPE_BONUS.items()]
    clauses.append(f"{when_filter('upcoming', query.today)}^={UPCOMING_BONUS:g}")
    return " ".join(clauses)


def text_params(query: TextQuery) -> dict:
    """Full text (text_q); each facet ignores its own filter (tag/ex), so a page can show
    every option's count."""
    params: dict = {"q": text_q(query)}
    if query.words:
        params.update({"defType": "lucene", "q.op": "OR"})
    fq = []
    if query.types:
        fq.append(f"{{!terms f=type tag=type}}{','.join(query.types)}")
    if query.topic:
        fq.append(f"{{!term f=topics tag=topic}}{query.topic}")
    if query.city:
        fq.append(f"{{!term f=city tag=city}}{query.city}")
    if query.when:
        fq.append(f"{{!tag=when}}{when_filter(query.when, query.today)}")
    if query.pks:
        fq.append("{!terms f=pk}" + ",".join(str(int(pk)) for pk in query.pks))
    if fq:
        params["fq"] = fq
    params.update({
        "fl": "id,type,pk,title,body",
        "sort": "score desc,id asc",
        "start": query.offset,
        "rows": query.limit,
    })
    if not query.facets:
        return params
    params.update({
        "facet": "true",
        "facet.mincount": 1,
        "facet.limit": -1,
        "facet.field": ["{!ex=type}type", "{!ex=topic}topics", "{!ex=city}city"],
        "facet.query": [
            f"{{!key=upcoming ex=when}}{when_filter('upcoming', query.today)}",
            f"{{!key=past ex=when}}{when_filter('past', query.today)}",
        ],
    })
    return params


def people_params(person_ids: Sequence[int], start: dt.date, end: dt.date, offset: int, rows: int) -> dict:
    """Events with any of the people (the terms parser: no boolean-clause limit), by date."""
    return {
        "q": "*:*",
        "fq": [
            "type:event",
            # Not cached: every follow set is a different filter, and caching each one built
            # a bitset over the index and pushed the reused ones (type, the window) out of the
            # filter cache (p50 27 ms cached against 14 ms not, standalone, on the bench data).
            "{!terms f=people_ids cache=false}" + ",".join(str(int(p)) for p in person_ids),
            f"start_date:[{solr_date(start)} TO {solr_date(end)}]",
        ],
        "sort": "start_date asc,pk asc",
        "start": offset,
        "rows": rows,
        "fl": "pk,start_date",
    }


def people_at_params(event_ids: Sequence[int]) -> dict:
    """Who is at these events (attendees and speakers), by event id."""
    return {
        "q": "*:*",
        "fq": ["type:event", "{!terms f=pk cache=false}" + ",".join(str(int(e)) for e in event_ids)],
        "rows": len(event_ids),
        "fl": "pk,attendee_ids,speaker_ids",
    }


def speaker_params(person_id: int) -> dict:
    """Counts of speakers over the events where ``person_id`` speaks (all of them; the
    ranking and the top 8 are made by SearchIndex.co_speakers, the same for both engines)."""
    return {
        "q": "*:*",
        "fq": ["type:event", f"speaker_ids:{int(person_id)}"],
        "rows": 0,
        "facet": "true",
        "facet.field": "speaker_ids",
        "facet.limit": -1,
        "facet.mincount": 1,
    }


def fingerprint_params(cursor: str) -> dict:
    return {"q": "*:*", "fl": "id,fingerprint", "sort": "id asc", "rows": 5_000, "cursorMark": cursor}


def _pairs(flat: list) -> dict:
    """Solr's flat facet list [value, count, value, count, …] as a dict."""
    return dict(zip(flat[0::2], flat[1::2], strict=False))


class SolrIndex(SearchIndex):
    """``url``: the core or collection (alias) on one node, or on several, comma-separated:
    a request goes to the node that last answered and, when that one fails, to the next
    (replicas on another node answer while one is down), for ROUNDS rounds."""

    backend = "solr"
    max_clauses = None  # the terms parser takes the whole follow set in one filter

    def __init__(self, url: str, *, timeout: float = TIMEOUT):
        self.urls = tuple(u.strip().rstrip("/") for u in url.split(",") if u.strip())
        if not self.urls:
            raise ValueError("a Solr URL is needed")
        self.url = ",".join(self.urls)
        self.timeout = timeout
        self.clients = [pysolr.Solr(u, timeout=timeout, always_commit=False) for u in self.urls]
        self._current = 0

    @property
    def address(self) -> str:
        return self.url

    @property
    def solr(self) -> pysolr.Solr:
        """The client of the node that last answered."""
        return self.clients[self._current]

    def _call(self, call: Callable[[pysolr.Solr], Any]) -> Any:
        failures: dict[str, str] = {}
        for attempt in range(ROUNDS * len(self.clients)):
            if attempt and attempt % len(self.clients) == 0:
                time.sleep(RETRY_PAUSE)  # every node failed: give the cluster a moment to reroute
            node = (self._current + attempt) % len(self.clients)
            try:
                result = call(self.clients[node])
            except pysolr.SolrError as error:
                failures[self.urls[node]] = str(error).splitlines()[0] if str(error) else type(error).__name__
                continue
            self._current = node
            return result
        if len(failures) == 1:
            ((url, why),) = failures.items()
            raise SearchError(f"Solr at {url} failed: {why}")
        reasons = "; ".join(f"{url}: {why}" for url, why in failures.items())
        raise SearchError(f"Solr at {', '.join(failures)} failed: {reasons}")

    def _select(self, params: dict) -> pysolr.Results:
        # On SolrCloud a query's shards are asked on the node it reached when a replica of
        # theirs lives there (a hop saved; another replica answers when that one is down).
        params = {"shards.preference": "replica.location:local", **params}
        q = params.pop("q")
        return self._call(lambda solr: solr.search(q, **params))

    def _update(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._call(lambda solr: getattr(solr, method)(*args, **kwargs))

    def document_count(self) -> int:
        return self._select({"q": "*:*", "rows": 0}).hits

    @profiled(ProfileKind.SEARCH, "search")
    def search(self, query: TextQuery) -> SearchPage:
        results = self._select(text_params(query))
        hits = tuple(Hit(d["id"], d["type"], int(d["pk"]), d.get("title", ""), d.get("body", "")) for d in results.docs)
        fields = results.facets.get("facet_fields", {})
        facets = Facets(
            type=ranked_counts(_pairs(fields.get("type", []))),
            topic=ranked_counts(_pairs(fields.get("topics", []))),
            city=ranked_counts(_pairs(fields.get("city", []))),
            when=ranked_counts(results.facets.get("facet_queries", {})),
        )
        return SearchPage(results.hits, hits, facets)

    def _people_chunk(
        self, person_ids: Sequence[int], start: dt.date, end: dt.date, offset: int, limit: int | None
    ) -> EventPage:
        hits: list[EventHit] = []
        position, total = offset, None
        while limit is None or len(hits) < limit:
            rows = PAGE if limit is None else min(PAGE, limit - len(hits))
            results = self._select(people_params(person_ids, start, end, position, rows))
            total = results.hits
            for d in results.docs:
                hits.append(EventHit(int(d["pk"]), dt.date.fromisoformat(d["start_date"][:10])))
            position += len(results.docs)
            if not results.docs or position >= total:
                break
        return EventPage(total or 0, tuple(hits))

    def people_at(self, event_ids: Iterable[int]) -> dict[int, tuple[frozenset[int], frozenset[int]]]:
        ids = sorted(set(event_ids))
        found = {}
        for start in range(0, len(ids), PAGE):
            for d in self._select(people_at_params(ids[start:start + PAGE])).docs:
                found[int(d["pk"])] = (frozenset(d.get("attendee_ids", ())), frozenset(d.get("speaker_ids", ())))
        return found

    def _speaker_counts(self, person_id: int) -> dict[int, int]:
        results = self._select(speaker_params(person_id))
        return {int(k): v for k, v in _pairs(results.facets.get("facet_fields", {}).get("speaker_ids", [])).items()}

    def fingerprints(self) -> Iterator[tuple[str, str]]:
        cursor = "*"
        while True:
            results = self._select(fingerprint_params(cursor))
            for d in results.docs:
                yield d["id"], d.get("fingerprint", "")
            if results.nextCursorMark in (None, cursor):
                return
            cursor = results.nextCursorMark

    def upsert(self, documents: Sequence[SearchDocument]) -> None:
        if documents:
            self._update("add", [solr_document(d) for d in documents], commit=False, softCommit=True)

    def delete(self, keys: Sequence[DocKey]) -> None:
        if keys:
            self._update("delete", id=[k.id for k in keys], commit=False, softCommit=True)

    def rebuild(self, documents: Iterable[SearchDocument]) -> int:
        """A new collection behind the alias (SolrCloud) or a new core SWAPped in (standalone),
        see digest/search/solr_admin.py; a plain SolrCloud collection is rebuilt in place."""
        generation = time.time_ns() // 1_000_000
        admin = SolrAdmin(self.urls, timeout=self.timeout)
        try:
            if not admin.cloud():
                return self._rebuild_core(admin, documents, generation)
            old = admin.alias_target()
            if old is None:
                return self._rebuild_in_place(documents, generation)
            return self._rebuild_collection(admin, old, documents, generation)
        finally:
            admin.close()

    def _fill(self, urls: str, documents: Iterable[SearchDocument], generation: int) -> int:
        """Write every document into the core or collection at ``urls`` and commit."""
        fresh = SolrIndex(urls, timeout=self.timeout)
        try:
            count = fresh._add_all(documents, generation)
            fresh._update("commit")
            return count
        finally:
            fresh.close()

    def _rebuild_collection(self, admin: SolrAdmin, old: str, documents: Iterable[SearchDocument],
                            generation: int) -> int:
        new = f"{admin.name}_{generation}"
        admin.create_collection(new, admin.shape(old), timeout=ADMIN_TIMEOUT)
        try:
            count = self._fill(admin.urls_of(new), documents, generation)
            admin.point_alias(new)
        except BaseException:
            admin.delete_collection(new, timeout=ADMIN_TIMEOUT)
            raise
        admin.delete_collection(old, timeout=ADMIN_TIMEOUT)
        return count

    def _rebuild_core(self, admin: SolrAdmin, documents: Iterable[SearchDocument], generation: int) -> int:
        new = f"{admin.name}_{generation}"
        admin.create_core(new, timeout=ADMIN_TIMEOUT)
        try:
            count = self._fill(admin.urls_of(new), documents, generation)
            admin.swap_cores(new)
        finally:
            admin.unload_core(new)  # after the swap: the old index, under the new core's name
        return count

    def _rebuild_in_place(self, documents: Iterable[SearchDocument], generation: int) -> int:
        """Every document stamped with a new generation, older generations deleted, one
        commit: readers see the old or the new version of each document throughout."""
        count = self._add_all(documents, generation)
        self._update("delete", q=f"*:* -generation:{generation}", commit=False)
        self._update("commit")
        return count

    def _add_all(self, documents: Iterable[SearchDocument], generation: int) -> int:
        batch, count = [], 0
        for document in documents:
            batch.append(solr_document(document, generation))
            if len(batch) >= ADD_BATCH:
                self._update("add", batch, commit=False)
                count += len(batch)
                batch = []
        if batch:
            self._update("add", batch, commit=False)
            count += len(batch)
        return count

    def close(self) -> None:
        for client in self.clients:
            client.get_session().close()
