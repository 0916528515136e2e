"""`lanyard search rebuild|check|sync` as a user runs them: a real process, real stores."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from digest.demo.seed import SeedPlan, seed
from digest.search import DocKey
from digest.search.sync import record_pending
from digest.stores import db
from digest.stores.keys import RedisKeys
from tests.cli.test_cli import assert_one_clear_line, run
from tests.conftest import REDIS_URL, TEST_SECRET


@pytest.fixture
def env(database_url, tmp_path):
    return {
        "LANYARD_DATA_DIR": str(tmp_path / "var"),
        "LANYARD_DATABASE_URL": database_url,
        "LANYARD_REDIS_URL": REDIS_URL,
        "LANYARD_REDIS_PREFIX": "cli:",
        "LANYARD_SECRET_KEYS": TEST_SECRET,
    }


def test_rebuild_check_drift_and_sync(env, engine, redis_client):
    seed(engine, SeedPlan(people=60, events=8, subscribers=5, seed=2, today=dt.date(2026, 12, 1)))

    result = run(["search", "check"], env)
    assert result.returncode == 1
    assert "drift: missing person:1" in result.stdout and "run `lanyard search rebuild` to mend" in result.stdout

    result = run(["search", "rebuild"], env)
    assert result.returncode == 0, result.stderr
    assert "search index rebuilt (tantivy):" in result.stdout

    result = run(["search", "check"], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("no drift: the ")

    with engine.begin() as connection:
        connection.execute(update(db.person).where(db.person.c.id == 3).values(name="Renamed Behind The Index"))
    result = run(["search", "check", "--show", "5"], env)
    assert result.returncode == 1
    assert "drift: stale person:3" in result.stdout
    assert "drift: 0 missing, 1 stale, 0 extra" in result.stdout

    record_pending(redis_client, RedisKeys("cli:"), [DocKey("person", 3)])
    result = run(["search", "sync"], env)
    assert result.returncode == 0, result.stderr
    assert "indexed 1, deleted 0 documents in 1 batches" in result.stdout
    assert run(["search", "check"], env).returncode == 0


def test_bad_search_configuration_is_one_line(env):
    result = run(["search", "check"], {**env, "LANYARD_SEARCH_URL": "elastic://nowhere"})
    assert_one_clear_line(result, 2, "LANYARD_SEARCH_URL", "unknown scheme 'elastic'")


def test_unreachable_solr_is_one_line(env):
    result = run(["search", "check"], {**env, "LANYARD_SEARCH_URL": "http://127.0.0.1:9/solr/lanyard"})
    assert_one_clear_line(result, 1, "search: Solr at http://127.0.0.1:9/solr/lanyard failed")
    assert len(result.stderr.strip().splitlines()) == 1


def test_rebuild_and_check_on_solrcloud(env, engine, solr_cloud):
    """On SolrCloud: the rebuild fills a new collection and points the alias at it; check
    reads every document's fingerprint back through the alias on either node."""
    seed(engine, SeedPlan(people=60, events=8, subscribers=5, seed=2, today=dt.date(2026, 12, 1)))
    solr = {**env, "LANYARD_SEARCH_URL": solr_cloud.url}
    result = run(["search", "rebuild"], solr)
    assert result.returncode == 0, result.stderr
    assert "search index rebuilt (solr):" in result.stdout
    result = run(["search", "check"], solr)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("no drift: the ")
    with engine.begin() as connection:
        connection.execute(update(db.person).where(db.person.c.id == 3).values(name="Renamed Behind The Index"))
    result = run(["search", "check"], solr)
    assert result.returncode == 1
    assert "drift: 0 missing, 1 stale, 0 extra" in result.stdout
