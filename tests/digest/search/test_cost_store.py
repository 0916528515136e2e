"""The friends planner's figures kept in Redis (real Redis): one key per engine, read back
only when fresh and well formed, and Redis away or a key of another type never raises."""

from __future__ import annotations

import json
import logging
import time

import redis

from digest.search.cost_store import FIGURES_MAX_AGE, FIGURES_VERSION, ClassFigures, CostStore, engine_key
from digest.search.friends import STRATEGY_NAMES
from digest.search.solr_index import SolrIndex
from digest.search.tantivy_index import TantivyIndex
from tests.conftest import REDIS_URL
from tests.faults.servers import free_port


def figures(at: float, redis_seconds: float = 0.001, search_seconds: float = 0.002) -> ClassFigures:
    return ClassFigures(seconds={"redis": [redis_seconds, redis_seconds * 2], "search": [search_seconds]}, group=8,
                        at=at)


def store_for(client: redis.Redis, index, clock=time.time) -> CostStore:
    store = CostStore.for_engine(client, "k:", index, strategies=STRATEGY_NAMES)
    store.clock = clock
    return store


def test_figures_round_trip_per_engine(redis_client, tmp_path):
    one = store_for(redis_client, TantivyIndex(tmp_path / "one"))
    other = store_for(redis_client, TantivyIndex(tmp_path / "other"))
    now = time.time()
    one.write(3, figures(now))
    one.write(5, figures(now, redis_seconds=0.05, search_seconds=0.01))
    assert one.read() == {3: figures(now), 5: figures(now, redis_seconds=0.05, search_seconds=0.01)}
    assert other.read() == {}  # another engine, another key
    assert one.key.startswith("k:friends:costs:tantivy:") and one.key != other.key
    assert 0 < redis_client.ttl(one.key) <= FIGURES_MAX_AGE  # a key nobody writes goes away
    one.forget()
    assert one.read() == {}


def test_a_solr_url_is_not_written_into_the_key_name():
    with SolrIndex("http://reader:s3cret@solr.example:8983/solr/lanyard") as index:
        key = engine_key(index)
    assert key.startswith("solr:") and "s3cret" not in key and "example" not in key
    with SolrIndex("http://other.example:8983/solr/lanyard") as index:
        assert engine_key(index) != key


def test_unreadable_or_old_figures_are_ignored_with_a_log_line(redis_client, tmp_path, caplog):
    store = store_for(redis_client, TantivyIndex(tmp_path / "search"))
    now = time.time()
    good = figures(now - 60)
    redis_client.hset(store.key, mapping={
        "1": figures(now - FIGURES_MAX_AGE - 60).model_dump_json(),  # too old
        "2": good.model_copy(update={"v": FIGURES_VERSION + 1}).model_dump_json(),  # another version
        "3": "not json",
        "4": json.dumps({"v": FIGURES_VERSION, "seconds": {"redis": [0.1]}, "group": 2, "at": now}),  # one strategy
        "5": json.dumps({"v": FIGURES_VERSION, "seconds": {"redis": [-1], "search": [0.1]}, "group": 2, "at": now}),
        "6": json.dumps({"v": FIGURES_VERSION, "seconds": {"redis": [], "search": [0.1]}, "group": 2, "at": now}),
        "7": figures(now + 2 * FIGURES_MAX_AGE).model_dump_json(),  # from the future
        "8": json.dumps({"v": FIGURES_VERSION, "seconds": {"redis": [0.1], "search": [0.1]}, "group": 0, "at": now}),
        "seven": good.model_dump_json(),
        "-1": good.model_dump_json(),
        "9": good.model_dump_json(),
    })
    with caplog.at_level(logging.INFO, logger="lanyard.search"):
        assert store.read() == {9: good}
    lines = [record.getMessage() for record in caplog.records if record.name == "lanyard.search"]
    assert len(lines) == 10 and all(store.key in line for line in lines)
    assert sum("older than" in line for line in lines) == 1
    assert any("written by version" in line for line in lines)
    assert any("'seven'" in line and "not a size class" in line for line in lines)
    assert any("probed in the future" in line for line in lines)


def test_a_key_of_another_type_is_not_read_and_not_written(redis_client, tmp_path, caplog):
    store = store_for(redis_client, TantivyIndex(tmp_path / "search"))
    redis_client.set(store.key, "someone else's")
    with caplog.at_level(logging.WARNING, logger="lanyard.search"):
        assert store.read() == {}
        store.write(3, figures(time.time()))
    assert redis_client.get(store.key) == b"someone else's"
    assert [("could not read" in r.getMessage(), "could not keep" in r.getMessage()) for r in caplog.records] == [
        (True, False), (False, True)
    ]


def test_redis_away_reads_nothing_and_writes_nothing(tmp_path, caplog):
    client = redis.Redis(port=free_port())  # nobody listens there
    store = store_for(client, TantivyIndex(tmp_path / "search"))
    with caplog.at_level(logging.WARNING, logger="lanyard.search"):
        assert store.read() == {}
        assert store.read() == {}  # not asked again at once: quiet for RETRY_SECONDS
        store.write(3, figures(time.time()))
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2 and "could not read" in messages[0] and "could not keep" in messages[1]


def test_figures_read_through_a_client_that_decodes(redis_client, tmp_path):
    """The site's or a worker's client may decode replies to str: the figures read the same."""
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    store = store_for(client, TantivyIndex(tmp_path / "search"))
    now = time.time()
    store.write(4, figures(now))
    assert store.read() == {4: figures(now)}
    client.close()
