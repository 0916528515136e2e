"""The search contract: what every engine answers, run on tantivy, a standalone Solr and a
two-node SolrCloud (tests/digest/search/conftest.py). Documents are built directly, so these
tests pin the engines, not the database.

Where the engines could differ, and what the suite holds them to:

* **Analysis: must be equal.** lanyard folds text itself (digest/search/folding.py) before
  indexing and querying, and both engines split at anything not a letter or digit and stem
  with English Snowball (tantivy's en_stem; Solr's text_en in the configset), so the same
  words match the same documents: every assertion on *which* documents match is exact.
* **Ranking: may differ, except where lanyard's bonuses decide it.** Both engines sum BM25
  over the same fields with the same boosts plus the same constant bonuses (index.py), but
  BM25's statistics differ per engine and, on SolrCloud, per shard. So the tests assert
  order only where the bonuses or field boosts settle it, and sort ties by id.
* **Highlighting: equal by construction.** Neither engine highlights: hits carry their stored
  text and digest/search/snippets.py marks the words (test_snippets_are_the_same_everywhere).
* **Facet order: equal.** Each engine returns counts in its own order (Solr by count then
  index order, tantivy by term); index.ranked_counts sorts them most first, then by value.
"""

from __future__ import annotations

import datetime as dt

from digest.search import DocKey, SearchDocument, TextQuery
from digest.search.index import MAX_CLAUSES, Facets

TODAY = dt.date(2026, 11, 28)


def event(pk, day, *, name=None, attendees=(), speakers=(), topics=("Python",), city="Lisbon", description="", days=0):
    start = TODAY + dt.timedelta(days=day)
    return SearchDocument(
        type="event", pk=pk, title=name or f"Gathering {pk}", body=description, topics=tuple(sorted(topics)), city=city,
        country="Portugal", start_date=start, end_date=start + dt.timedelta(days=days),
        attendee_ids=tuple(sorted(attendees)), speaker_ids=tuple(sorted(speakers)),
    )


def person(pk, name, bio="", handle=None):
    return SearchDocument(type="person", pk=pk, title=name, body=bio, handle=handle or f"p{pk}")


def session(pk, event_id, title, speakers=(), day=0):
    start = TODAY + dt.timedelta(days=day)
    return SearchDocument(
        type="session",
        pk=pk,
        title=title,
        event_id=event_id,
        start_date=start,
        end_date=start,
        speaker_ids=tuple(speakers),
    )


def coverage(pk, title, kind="video", session_id=None):
    return SearchDocument(type="coverage", pk=pk, title=title, kind=kind, session_id=session_id)


def ids(page):
    return {hit.id for hit in page.hits}


CATALOGUE = [
    event(1, 10, name="PyCon Lisbon", topics=("Python", "Django"), description="snakes and web frameworks"),
    event(2, -30, name="RustConf Berlin", topics=("Rust",), city="Berlin"),
    event(3, 40, name="Python Meetup Berlin", topics=("Python",), city="Berlin"),
    person(10, "Ada Lovelace", "Writes Python at a bank"),
    person(11, "Grace Hopper", "Compilers and Rust"),
    session(20, 1, "Scaling Python search", speakers=(10,)),
    coverage(30, "Video: Scaling Python search", session_id=20),
]


def test_full_text_finds_every_type_and_counts_them(search_index):
    search_index.upsert(CATALOGUE)
    page = search_index.search(TextQuery("python", today=TODAY))
    assert ids(page) == {"event:1", "event:3", "person:10", "session:20", "coverage:30"}
    assert page.total == 5
    assert dict(page.facets.type) == {"event": 2, "person": 1, "session": 1, "coverage": 1}
    assert dict(page.facets.topic) == {"Python": 2, "Django": 1}
    assert dict(page.facets.city) == {"Lisbon": 1, "Berlin": 1}
    # Upcoming/past is about the dated documents only: events and sessions.
    assert dict(page.facets.when) == {"upcoming": 3}


def test_a_query_without_facets_finds_the_same_and_counts_nothing_more(search_index):
    search_index.upsert(CATALOGUE)
    counted = search_index.search(TextQuery("python", today=TODAY, limit=2))
    bare = search_index.search(TextQuery("python", today=TODAY, limit=2, facets=False))
    assert [h.id for h in bare.hits] == [h.id for h in counted.hits] and bare.total == counted.total == 5
    assert bare.facets == Facets() != counted.facets


def test_every_word_must_match_and_title_matches_rank_first(search_index):
    search_index.upsert(CATALOGUE)
    assert ids(search_index.search(TextQuery("python berlin", today=TODAY))) == {"event:3"}
    page = search_index.search(TextQuery("rust", today=TODAY))
    assert [hit.id for hit in page.hits] == ["event:2", "person:11"]  # title beats bio
    assert search_index.search(TextQuery("nonexistentword", today=TODAY)).total == 0


def test_user_query_syntax_is_only_words(search_index):
    search_index.upsert(CATALOGUE)
    for text in ('title:rust AND (', '"python', "python -berlin", "type:person", "*:*", "python OR rust"):
        page = search_index.search(TextQuery(text, today=TODAY))
        assert page.total >= 0
    assert ids(search_index.search(TextQuery("python -berlin", today=TODAY))) == {"event:3"}
    assert search_index.search(TextQuery("type:person", today=TODAY)).total == 0  # the words "type" and "person"


def test_filters_and_facets_that_ignore_their_own_filter(search_index):
    search_index.upsert(CATALOGUE)
    page = search_index.search(TextQuery("python", types=("event",), today=TODAY))
    assert ids(page) == {"event:1", "event:3"}
    # Every tab keeps its count while one is selected.
    assert dict(page.facets.type) == {"event": 2, "person": 1, "session": 1, "coverage": 1}
    assert dict(page.facets.city) == {"Lisbon": 1, "Berlin": 1}

    berlin = search_index.search(TextQuery("", types=("event",), city="Berlin", today=TODAY))
    assert ids(berlin) == {"event:2", "event:3"}
    assert dict(berlin.facets.city) == {"Berlin": 2, "Lisbon": 1}  # the city filter ignored for its own counts
    assert dict(berlin.facets.topic) == {"Python": 1, "Rust": 1}
    assert dict(berlin.facets.when) == {"upcoming": 1, "past": 1}

    past = search_index.search(TextQuery("", types=("event",), when="past", today=TODAY))
    assert ids(past) == {"event:2"}
    assert dict(past.facets.when) == {"upcoming": 2, "past": 1}
    assert ids(search_index.search(TextQuery("", topic="Django", today=TODAY))) == {"event:1"}
    several = search_index.search(TextQuery("python", types=("person", "coverage"), today=TODAY))
    assert ids(several) == {"person:10", "coverage:30"}


def test_an_event_ending_today_is_upcoming(search_index):
    search_index.upsert([event(1, -2, days=2), event(2, -3, days=2)])
    page = search_index.search(TextQuery("", when="upcoming", today=TODAY))
    assert ids(page) == {"event:1"}


def test_paging_text_results(search_index):
    search_index.upsert([person(i, f"Speaker number {i}") for i in range(1, 26)])
    seen = []
    for offset in range(0, 25, 10):
        page = search_index.search(TextQuery("speaker", offset=offset, limit=10, today=TODAY))
        assert page.total == 25
        seen += [hit.id for hit in page.hits]
    assert len(seen) == 25 and set(seen) == {f"person:{i}" for i in range(1, 26)}


def test_upsert_replaces_and_delete_removes(search_index):
    search_index.upsert([person(1, "Old Name")])
    search_index.upsert([person(1, "New Name")])
    assert search_index.search(TextQuery("old", today=TODAY)).total == 0
    page = search_index.search(TextQuery("name", today=TODAY))
    assert [(h.id, h.title) for h in page.hits] == [("person:1", "New Name")]
    search_index.delete([DocKey("person", 1), DocKey("person", 99)])
    assert search_index.search(TextQuery("", today=TODAY)).total == 0


def test_events_with_people_by_date_within_the_range(search_index):
    search_index.upsert([
        event(1, 5, attendees=[100], speakers=[200]),
        event(2, 1, attendees=[101]),
        event(3, 1, speakers=[100]),
        event(4, 31, attendees=[100]),  # after the range
        event(5, -1, attendees=[100]),  # before it
        event(6, 30, attendees=[300]),  # nobody we ask about
        session(7, 1, "A talk by 100", speakers=[100], day=2),  # not an event
    ])
    start, end = TODAY, TODAY + dt.timedelta(days=30)
    page = search_index.events_with_people([100, 101, 999], start, end)
    assert page.total == 3
    assert [(hit.id, hit.start_date) for hit in page.hits] == [
        (2, TODAY + dt.timedelta(days=1)),
        (3, TODAY + dt.timedelta(days=1)),
        (1, TODAY + dt.timedelta(days=5)),
    ]
    assert page.hits[0].attendee_ids is None  # who is there only when asked for
    people = search_index.events_with_people([100, 101, 999], start, end, with_people=True)
    assert [(h.id, h.attendee_ids, h.speaker_ids) for h in people.hits] == [
        (2, {101}, set()),
        (3, set(), {100}),
        (1, {100}, {200}),
    ]
    assert [h.id for h in search_index.events_with_people([100, 101], start, end, offset=1, limit=1).hits] == [3]
    assert (
        search_index.events_with_people([100], TODAY + dt.timedelta(days=31), TODAY + dt.timedelta(days=31)).total == 1
    )
    assert search_index.events_with_people([], start, end).total == 0


def test_more_than_2048_people_are_split_and_merged(search_index):
    """tantivy asks in parts of MAX_CLAUSES and merges; Solr asks once (the terms parser has
    no clause limit): the same answer either way, split boundaries included."""
    people = list(range(1, 5_001))
    assert len(people) > 2 * MAX_CLAUSES
    search_index.upsert([
        event(1, 3, attendees=[1, 4_000]),  # found by the first and the second part
        event(2, 1, attendees=[4_999]),  # the third part only
        event(3, 2, speakers=[2_500]),
        event(4, 2, attendees=[6_000]),
        event(5, 9, attendees=[2_048, 2_049]),  # either side of the first split
    ])
    start, end = TODAY, TODAY + dt.timedelta(days=10)
    page = search_index.events_with_people(people, start, end)
    assert page.total == 4
    assert [h.id for h in page.hits] == [2, 3, 1, 5]
    assert [h.id for h in search_index.events_with_people(people, start, end, offset=1, limit=2).hits] == [3, 1]
    every = search_index.events_with_people(people, start, end, limit=None, with_people=True).hits
    assert [(h.id, h.attendee_ids, h.speaker_ids) for h in every] == [
        (2, {4_999}, set()), (3, set(), {2_500}), (1, {1, 4_000}, set()), (5, {2_048, 2_049}, set()),
    ]


def test_co_speakers_are_the_top_eight_by_shared_events(search_index):
    documents = []
    # Speaker 1 shares 10 - i events with speaker 100 + i, and one with each of 200-202:
    # ties at the cut are decided by id.
    for i in range(10):
        for j in range(10 - i):
            documents.append(event(len(documents) + 1, j, speakers=[1, 100 + i], attendees=[500]))
    documents.append(event(len(documents) + 1, 0, speakers=[1, 202, 201, 200]))
    documents.append(event(len(documents) + 1, 0, speakers=[100, 300], attendees=[1]))  # 1 attends, not speaks
    documents.append(session(9_999, 1, "Session with 1", speakers=[1, 400]))  # sessions do not count
    search_index.upsert(documents)
    assert search_index.co_speakers(1) == [
        (100, 10),
        (101, 9),
        (102, 8),
        (103, 7),
        (104, 6),
        (105, 5),
        (106, 4),
        (107, 3),
    ]
    assert search_index.co_speakers(1, limit=12)[-3:] == [(109, 1), (200, 1), (201, 1)]  # 202 loses the tie
    assert search_index.co_speakers(300) == [(100, 1)]
    assert search_index.co_speakers(12345) == []


def test_fingerprints_cover_every_document(search_index):
    search_index.upsert(CATALOGUE)
    assert dict(search_index.fingerprints()) == {d.id: d.fingerprint for d in CATALOGUE}


def test_rebuild_swaps_in_exactly_the_new_documents(search_index):
    search_index.upsert(CATALOGUE)
    renamed = person(10, "Ada King")
    fresh = [renamed, event(1, 10, name="PyCon Lisbon")]
    assert search_index.rebuild(iter(fresh)) == 2
    assert dict(search_index.fingerprints()) == {d.id: d.fingerprint for d in fresh}
    assert ids(search_index.search(TextQuery("king", today=TODAY))) == {"person:10"}
    search_index.upsert([person(12, "Written After")])  # writes go on into the new index
    assert search_index.search(TextQuery("", today=TODAY)).total == 3


def test_people_are_at_events_only(search_index):
    search_index.upsert([session(1, 9, "A talk", speakers=[100], day=1), event(2, 1, speakers=[100])])
    assert [h.id for h in search_index.events_with_people([100], TODAY, TODAY + dt.timedelta(days=2)).hits] == [2]


def test_event_ids_are_what_the_people_query_finds(search_index):
    search_index.upsert([event(i, i % 20, attendees=[i % 7, 3_000 + i]) for i in range(1, 60)])
    people = [1, 2, 3_010, 3_011, *range(4_000, 6_200)]
    start, end = TODAY + dt.timedelta(days=2), TODAY + dt.timedelta(days=15)
    expected = {h.id for h in search_index.events_with_people(people, start, end, limit=None).hits}
    assert len(expected) > 5
    assert search_index.event_ids_with_people(people, start, end) == expected
    assert search_index.event_ids_with_people(people, end, start) == set()


def test_pks_limit_the_search_to_those_rows_and_hits_carry_their_text(search_index):
    search_index.upsert(CATALOGUE)
    page = search_index.search(TextQuery("", types=("person",), pks=(11, 999), today=TODAY))
    assert ids(page) == {"person:11"} and page.total == 1
    assert page.hits[0].body == "Compilers and Rust"
    assert ids(search_index.search(TextQuery("ada", types=("person",), pks=(11,), today=TODAY))) == set()
    assert ids(search_index.search(TextQuery("ada", types=("person",), pks=(10, 11), today=TODAY))) == {"person:10"}


# -- what a visitor types (issue 20): folded accents, the last word as a prefix, the shared
# ranking. Matching must be equal on every engine (the same folded words, the same stemmer,
# the same clauses); scores are not (BM25 statistics differ per engine, and per shard on
# SolrCloud), so ranking is asserted only where the shared bonuses decide it.

def _world():
    zurich = [event(100 + n, 5 + n, name=f"Swiss meetup {n}", city="Zürich", topics=("Rust",)) for n in range(3)]
    # An event tagged Python whose name says nothing of it, and many people whose bios say Python.
    tagged = event(200, 12, name="Berlin Data Night", topics=("Python",), city="Berlin")
    people = [person(300 + n, f"Person {n}", "Python programmer, Python trainer, Python everything")
              for n in range(33)]
    past = event(201, -40, name="Berlin Data Night 2025", topics=("Python",), city="Berlin")
    return TODAY, [*zurich, tagged, *people, past, person(400, "Zoë Ünal", "Дмитрий's colleague")]


def _ids(index, text, today, **options):
    return [hit.id for hit in index.search(TextQuery(text, today=today, limit=50, **options)).hits]


def test_accents_fold_the_same_at_index_and_query_time(search_index):
    today, documents = _world()
    search_index.upsert(documents)
    spellings = ["zurich", "Zürich", "ZÜRICH", "Zurich"]
    found = [set(_ids(search_index, spelling, today)) for spelling in spellings]
    assert found[0] == {"event:100", "event:101", "event:102"} and all(f == found[0] for f in found)
    assert _ids(search_index, "zoe unal", today) == _ids(search_index, "Zoë Ünal", today) == ["person:400"]
    assert _ids(search_index, "дмитрий", today) == _ids(search_index, "dmitriy", today) == ["person:400"]


def test_the_last_word_matches_as_a_prefix(search_index):
    today, documents = _world()
    search_index.upsert(documents)
    assert set(_ids(search_index, "pyth", today)) == set(_ids(search_index, "python", today))
    assert "event:200" in _ids(search_index, "berlin pyth", today)
    assert _ids(search_index, "zür", today) and _ids(search_index, "py", today) == []  # two letters: no prefix


def test_an_event_tagged_with_the_word_ranks_above_people(search_index):
    today, documents = _world()
    search_index.upsert(documents)
    ranked = _ids(search_index, "python", today)
    assert ranked[0] == "event:200"  # upcoming, tagged Python, above 33 people who write "Python" thrice
    assert ranked.index("event:201") < ranked.index("person:300")  # events before people, even past ones
    assert ranked.index("event:200") < ranked.index("event:201")  # upcoming before past, the text alike


def test_snippets_and_facets_are_the_same_everywhere(search_index, tantivy_index):
    """Marked words and facet counts come out identical from every engine (see the docstring)."""
    from digest.search.snippets import snippet

    for index in (search_index, tantivy_index):
        index.upsert(CATALOGUE)
    query = TextQuery("python", today=TODAY)
    here, reference = search_index.search(query), tantivy_index.search(query)
    assert here.facets == reference.facets
    marked = {hit.id: snippet(hit.body or hit.title, query.words) for hit in here.hits}
    assert marked == {hit.id: snippet(hit.body or hit.title, query.words) for hit in reference.hits}
    assert any(part == ("Python", True) for parts in marked.values() for part in parts)
