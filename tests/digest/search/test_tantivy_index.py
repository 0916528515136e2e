"""The embedded engine's own promises: generations swapped under readers, old ones
cleaned up, one rebuild at a time, and an index of another schema refused."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from digest.search import TextQuery
from digest.search.sync import rebuild
from digest.search.tantivy_index import SearchBusy
from digest.stores import db
from digest.stores.keys import RedisKeys
from tests.factories import make_person

KEYS = RedisKeys("tt:")


def titles(index):
    return {hit.id: hit.title for hit in index.search(TextQuery("")).hits}


def test_a_reader_sees_the_rebuilt_index_and_old_generations_go(engine, redis_client, tmp_path):
    from digest.search.tantivy_index import TantivyIndex

    with engine.begin() as c:
        ada = make_person(c, name="Ada")
    writer, reader = TantivyIndex(tmp_path / "ix"), TantivyIndex(tmp_path / "ix")
    assert titles(reader) == {}
    for name in ("First", "Second", "Third"):
        with engine.begin() as c:
            c.execute(update(db.person).where(db.person.c.id == ada).values(name=name))
        rebuild(writer, engine, redis_client, KEYS)
        assert titles(reader) == {f"person:{ada}": name}  # the same reader object, reopened
    generations = sorted(p.name for p in (tmp_path / "ix").iterdir() if p.name.startswith("gen-"))
    assert generations == ["gen-000003", "gen-000004"]  # the live one and the one before


def test_a_second_rebuild_at_once_is_refused(tantivy_index):
    import fcntl

    tantivy_index.path.mkdir(parents=True, exist_ok=True)
    with open(tantivy_index.path / ".rebuild.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(SearchBusy, match="already running"):
            tantivy_index.rebuild(iter(()))


def test_an_index_of_another_schema_version_asks_for_a_rebuild(engine, redis_client, tantivy_index):
    from digest.search import SearchError
    from digest.search.tantivy_index import SCHEMA_FILE

    (tantivy_index.generation_dir() / SCHEMA_FILE).write_text("1")
    reader = type(tantivy_index)(tantivy_index.path)
    with pytest.raises(SearchError, match="another version of lanyard .* run `lanyard search rebuild`"):
        reader.search(TextQuery(""))
    rebuild(reader, engine, redis_client, KEYS)
    assert reader.search(TextQuery("")).total == 0


# -- what a visitor types (issue 20). The Solr engine is to match these (digest.search.folding,
# index.FIELD_BOOSTS / TYPE_BONUS / PREFIX_MIN); they move into the contract suite (test_index.py) then.

def _world():
    from tests.digest.search.test_index import TODAY, event, person

    zurich = [event(100 + n, 5 + n, name=f"Swiss meetup {n}", city="Zürich", topics=("Rust",)) for n in range(3)]
    # An event tagged Python whose name says nothing of it, and many people whose bios say Python.
    tagged = event(200, 12, name="Berlin Data Night", topics=("Python",), city="Berlin")
    people = [person(300 + n, f"Person {n}", "Python programmer, Python trainer, Python everything")
              for n in range(33)]
    past = event(201, -40, name="Berlin Data Night 2025", topics=("Python",), city="Berlin")
    return TODAY, [*zurich, tagged, *people, past, person(400, "Zoë Ünal", "Дмитрий's colleague")]


def _ids(index, text, today, **options):
    return [hit.id for hit in index.search(TextQuery(text, today=today, limit=50, **options)).hits]


def test_accents_fold_the_same_at_index_and_query_time(tantivy_index):
    today, documents = _world()
    tantivy_index.upsert(documents)
    spellings = ["zurich", "Zürich", "ZÜRICH", "Zurich"]
    found = [set(_ids(tantivy_index, spelling, today)) for spelling in spellings]
    assert found[0] == {"event:100", "event:101", "event:102"} and all(f == found[0] for f in found)
    assert _ids(tantivy_index, "zoe unal", today) == _ids(tantivy_index, "Zoë Ünal", today) == ["person:400"]
    assert _ids(tantivy_index, "дмитрий", today) == _ids(tantivy_index, "dmitriy", today) == ["person:400"]


def test_the_last_word_matches_as_a_prefix(tantivy_index):
    today, documents = _world()
    tantivy_index.upsert(documents)
    assert set(_ids(tantivy_index, "pyth", today)) == set(_ids(tantivy_index, "python", today))
    assert "event:200" in _ids(tantivy_index, "berlin pyth", today)
    assert _ids(tantivy_index, "zür", today) and _ids(tantivy_index, "py", today) == []  # two letters: no prefix


def test_an_event_tagged_with_the_word_ranks_above_people(tantivy_index):
    today, documents = _world()
    tantivy_index.upsert(documents)
    ranked = _ids(tantivy_index, "python", today)
    assert ranked[0] == "event:200"  # upcoming, tagged Python, above 33 people who write "Python" thrice
    assert ranked.index("event:201") < ranked.index("person:300")  # events before people, even past ones
    assert ranked.index("event:200") < ranked.index("event:201")  # upcoming before past, the text alike
