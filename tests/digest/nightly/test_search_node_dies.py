"""A digest run on the search strategy while a SolrCloud node dies (a graceful stop, and a
SIGKILL of the node's own JVM that leaves it listed live in ZooKeeper), and while all of
Solr is away: every due subscriber is sent once either way. Replicas on the other node
answer (SolrIndex moves to the next node's URL, the other node to the next replica); with
no Solr at all the chunk's friends come from the Redis graph and the run's notes say so."""

from __future__ import annotations

from sqlalchemy import select

from digest.nightly.pipeline import Pipeline
from digest.search.documents import stream_documents
from digest.search.solr_index import SolrIndex
from digest.stores import db
from tests.digest.nightly.test_pipeline import (  # noqa: F401 -- fixtures
    DAY,
    PREFIX,
    finish_run,
    mail_settings,
    plan_run,
    recipients,
    work,
    world,
)
from tests.faults.servers import free_port
from tests.solr_nodes import node_dies


def index_database(engine, url):
    index = SolrIndex(url)
    index.solr.delete(q="*:*", commit=True)
    with engine.connect() as connection:
        index.upsert(list(stream_documents(connection)))
    index.close()


def sent_once(engine, smtp_server):
    with engine.connect() as c:
        statuses = dict(c.execute(select(db.delivery.c.subscription_id, db.delivery.c.status)).all())
    return recipients(smtp_server), statuses


def search_pipeline(make_settings, database_url, smtp_server, engine, redis_client, url: str) -> Pipeline:
    """A pipeline on the search strategy over the Solr at ``url``, indexed from the database."""
    index_database(engine, url)
    settings = make_settings(database_url=database_url, mail_url=smtp_server.url, redis_prefix=PREFIX,
                             friends_strategy="search", search_url=url)
    return Pipeline(settings, engine=engine, redis=redis_client)


def assert_sent_once_by_search(engine, smtp_server, summary) -> None:
    """Ada and Hal sent once each, the two others skipped, every chunk answered by Solr (the
    replicas on the live node: no chunk needed the Redis graph)."""
    sent, statuses = sent_once(engine, smtp_server)
    assert sent == ["ada@example.com", "hal@example.com"]  # each once
    assert sorted(statuses.values()) == ["sent", "sent", "skipped", "skipped"]
    assert (summary.status, summary.sent, summary.failed) == ("finished", 2, 0)
    assert "friends strategy: search" in summary.notes
    assert "search away" not in summary.notes


def test_a_solrcloud_node_dies_mid_run(make_settings, database_url, smtp_server, engine, redis_client, world,
                                       solr_cloud):
    pipeline = search_pipeline(make_settings, database_url, smtp_server, engine, redis_client, solr_cloud.url)
    try:
        plan = plan_run(engine, digest_date=DAY, chunk_size=1)
        assert len(plan.chunk_ids) == 4
        work(pipeline, plan, 0)
        with node_dies(solr_cloud, 0) as stopping:  # node 0: the one the index asked first
            work(pipeline, plan, 1)  # while the node stops
            stopping.join()
            for index in range(2, len(plan.chunk_ids)):  # with the node down
                work(pipeline, plan, index)
        summary = finish_run(engine, run_id=plan.run_id)
    finally:
        pipeline.close()
    assert_sent_once_by_search(engine, smtp_server, summary)


def test_a_solrcloud_node_killed_mid_run_then_rejoining(make_settings, database_url, smtp_server, engine,
                                                        redis_client, world, solr_processes):
    cloud = solr_processes
    pipeline = search_pipeline(make_settings, database_url, smtp_server, engine, redis_client, cloud.url)
    try:
        plan = plan_run(engine, digest_date=DAY, chunk_size=1)
        assert len(plan.chunk_ids) == 4
        # Chunks: ada, eve (follows nobody: no search), fay, hal. Node 0, the one the index
        # asks first, dies under ada's search.
        with cloud.killed_mid_request(0) as kill:
            work(pipeline, plan, 0)
        assert kill.caught.is_set()  # a search was in flight to it
        # Killed, not stopped: ZooKeeper still lists it until its session expires, so the
        # other node still routes shard requests to it.
        assert kill.still_listed
        work(pipeline, plan, 1)
        work(pipeline, plan, 2)
        cloud.restart(0)  # back on its port: it finds its cores, rejoins, every replica active
        assert cloud.node_name(0) in cloud.live_nodes()
        work(pipeline, plan, 3)
        summary = finish_run(engine, run_id=plan.run_id)
    finally:
        pipeline.close()
    assert_sent_once_by_search(engine, smtp_server, summary)


def test_all_of_solr_away_the_run_uses_the_redis_graph(make_settings, database_url, smtp_server, engine,
                                                       redis_client, world):
    away = f"http://127.0.0.1:{free_port()}/solr/lanyard,http://127.0.0.1:{free_port()}/solr/lanyard"
    settings = make_settings(database_url=database_url, mail_url=smtp_server.url, redis_prefix=PREFIX,
                             friends_strategy="search", search_url=away)
    pipeline = Pipeline(settings, engine=engine, redis=redis_client)
    try:
        plan = plan_run(engine, digest_date=DAY, chunk_size=2)
        for index in range(len(plan.chunk_ids)):
            work(pipeline, plan, index)
        summary = finish_run(engine, run_id=plan.run_id)
    finally:
        pipeline.close()
    sent, _ = sent_once(engine, smtp_server)
    assert sent == ["ada@example.com", "hal@example.com"]
    assert (summary.status, summary.sent, summary.failed) == ("finished", 2, 0)
    assert "search away, friends from the Redis graph: Solr at http://127.0.0.1:" in summary.notes
