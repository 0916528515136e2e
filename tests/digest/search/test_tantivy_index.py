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


def test_a_reader_keeps_its_answers_until_the_index_or_the_day_changes(tmp_path):
    import datetime as dt

    from digest.search.documents import DocKey, SearchDocument
    from digest.search.tantivy_index import TantivyIndex

    writer, reader = TantivyIndex(tmp_path / "ix"), TantivyIndex(tmp_path / "ix")
    writer.upsert([SearchDocument("person", 1, "Ada Lovelace")])
    query = TextQuery("ada", today=dt.date(2026, 6, 1))
    first = reader.search(query)
    assert [hit.title for hit in first.hits] == ["Ada Lovelace"]
    assert reader.search(TextQuery("ada", today=dt.date(2026, 6, 1))) is first  # kept: the index is as it was
    assert reader.search(TextQuery("ada", today=dt.date(2026, 6, 2))) is not first  # a new day asks again

    writer.upsert([SearchDocument("person", 2, "Ada Byron")])  # a commit by another handle
    assert sorted(hit.title for hit in reader.search(query).hits) == ["Ada Byron", "Ada Lovelace"]
    writer.delete([DocKey("person", 1)])
    assert [hit.title for hit in reader.search(query).hits] == ["Ada Byron"]
    writer.upsert([SearchDocument("person", 2, "Ada Byron King")])  # the same size of change, just renamed
    assert [hit.title for hit in reader.search(query).hits] == ["Ada Byron King"]
