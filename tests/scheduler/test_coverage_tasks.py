"""The fetch task on a real Celery worker: a tar pit holds it no longer than the deadline."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from digest.coverage.store import coverage_add
from digest.search import open_search
from digest.search.index import TextQuery
from digest.stores import db
from digest.vocabulary import TaskName
from scheduler.app import FETCHING_QUEUE, ROUTES
from tests.scheduler.conftest import wait_until
from tests.web_server import page, tar_pit


@pytest.fixture
def worker_env(worker_env):
    # Only the test server's address is allowed; the deadline is short so the test is too.
    return {**worker_env, "LANYARD_HTTP_ALLOW_NETWORKS": "127.0.0.2/32", "LANYARD_HTTP_DEADLINE": "2"}


def coverage_row(engine, coverage_id):
    with engine.connect() as connection:
        return connection.execute(select(db.coverage).where(db.coverage.c.id == coverage_id)).mappings().one()


def test_task_names_are_the_apps(celery_app):
    assert ROUTES[TaskName.COVERAGE_FETCH]["queue"] == FETCHING_QUEUE
    assert TaskName.COVERAGE_FETCH in celery_app.tasks and TaskName.COVERAGE_REVALIDATE in celery_app.tasks
    assert any(entry["task"] == TaskName.COVERAGE_REVALIDATE for entry in celery_app.conf.beat_schedule.values())


@pytest.mark.slow
def test_a_worker_fetching_from_a_tar_pit_is_free_again_within_the_deadline(
    engine, web_server, workers, celery_app, talk_id, sched_settings
):
    pit = coverage_add(engine, url=web_server.route("/pit", tar_pit(web_server.stopping)), session_id=talk_id)
    good = coverage_add(
        engine, url=web_server.route("/good", page("<title>Slides of the talk</title>")), session_id=talk_id
    )
    refused = coverage_add(engine, url="http://169.254.169.254/latest/meta-data/", session_id=talk_id)
    workers.start(concurrency=1)  # one process: the good link waits behind the tar pit
    for coverage_id in (pit, good, refused):
        celery_app.send_task(TaskName.COVERAGE_FETCH, kwargs={"coverage_id": coverage_id})
    wait_until(lambda: coverage_row(engine, good)["status"] == "ok", timeout=120, message="the good link fetched")
    assert coverage_row(engine, good)["title"] == "Slides of the talk"
    # The tar pit's first attempt timed out and waits for its retry; the link is still fetching.
    tarred = coverage_row(engine, pit)
    assert (tarred["status"], tarred["failure"]) == ("fetching", "timed out")
    wait_until(
        lambda: coverage_row(engine, refused)["status"] == "refused", timeout=60, message="the link to be refused"
    )
    assert coverage_row(engine, refused)["failure"] == "private address"  # link-local: the cloud's metadata
    # The fetched title reaches the search index (the task notes the row for the indexer).
    index = open_search(sched_settings)
    try:
        wait_until(lambda: [(h.type, h.pk) for h in index.search(TextQuery("slides talk", types=("coverage",))).hits]
                   == [("coverage", good)], timeout=120, message="the fetched title in the search index")
    finally:
        index.close()
