"""Fetching a coverage row and recording it, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest
from sqlalchemy import insert, select

from digest.coverage.failures import failure_words
from digest.coverage.store import coverage_add, coverage_due, coverage_fetch
from digest.coverage.values import FetchOutcome
from digest.http import HttpClient, HttpConfig
from digest.stores import db
from digest.vocabulary import LinkFailure
from tests.web_server import page, redirect, tar_pit

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def client():
    found = HttpClient(HttpConfig(allow_networks=(ipaddress.ip_network("127.0.0.2/32"),), deadline=2.0))
    yield found
    found.close()


def row(engine, coverage_id):
    with engine.connect() as connection:
        return connection.execute(select(db.coverage).where(db.coverage.c.id == coverage_id)).mappings().one()


def test_a_fetched_link_gets_its_title_kind_and_validators(engine, web_server, client, talk_id):
    url = web_server.route("/deck", page('<title>My slides</title><meta property="og:type" content="video.other">',
                                         headers={"ETag": '"e1"', "Last-Modified": "Tue, 01 Dec 2026 10:00:00 GMT"}))
    coverage_id = coverage_add(engine, url=url, session_id=talk_id, now=NOW)
    assert row(engine, coverage_id)["status"] == "fetching" and row(engine, coverage_id)["title"] == url
    result = coverage_fetch(engine, client, coverage_id=coverage_id, last_attempt=False, now=NOW)
    assert result.outcome is FetchOutcome.OK
    found = row(engine, coverage_id)
    assert (found["status"], found["title"], found["kind"], found["etag"]) == ("ok", "My slides", "video", '"e1"')
    assert found["last_modified"] == "Tue, 01 Dec 2026 10:00:00 GMT" and found["fetched_at"] is not None


def test_a_temporary_failure_waits_for_a_retry_and_the_last_attempt_keeps_the_link(engine, web_server, client, talk_id):
    url = web_server.route("/pit", tar_pit(web_server.stopping))
    coverage_id = coverage_add(engine, url=url, session_id=talk_id, now=NOW)
    first = coverage_fetch(engine, client, coverage_id=coverage_id, last_attempt=False, now=NOW)
    assert (first.outcome, first.reason) == (FetchOutcome.RETRY, "timed out")
    assert row(engine, coverage_id)["status"] == "fetching"
    last = coverage_fetch(engine, client, coverage_id=coverage_id, last_attempt=True, now=NOW)
    assert last.outcome is FetchOutcome.FAILED
    found = row(engine, coverage_id)
    assert (found["status"], found["failure"], found["title"], found["url"]) == ("failed", "timed out", url, url)
    assert failure_words(found["failure"]) == "the site took too long to answer"


def test_a_refused_link_is_refused_at_once_with_the_reason(engine, client, talk_id):
    coverage_id = coverage_add(engine, url="http://10.0.0.7/slides", session_id=talk_id, now=NOW)
    result = coverage_fetch(engine, client, coverage_id=coverage_id, last_attempt=False, now=NOW)
    assert (result.outcome, result.refused, result.reason) == (FetchOutcome.FAILED, True, LinkFailure.PRIVATE_ADDRESS)
    assert result.detail == "address not allowed: 10.0.0.7 is a private address"
    assert (row(engine, coverage_id)["status"], row(engine, coverage_id)["failure"]) == ("refused", "private address")


def test_a_link_shown_before_that_now_leads_to_a_private_address_is_refused(engine, web_server, client, talk_id):
    """Revalidation keeps what a link showed through a failure, but not through a refusal: a
    redirect to loopback now (a name rebound, a page replaced) hides the link."""
    url = web_server.route("/deck", page("<title>Slides</title>"))
    coverage_id = coverage_add(engine, url=url, session_id=talk_id, now=NOW)
    first = coverage_fetch(engine, client, coverage_id=coverage_id, last_attempt=True, now=NOW)
    assert first.outcome is FetchOutcome.OK
    web_server.route("/deck", redirect(f"http://127.0.0.1:{web_server.port}/admin"))
    result = coverage_fetch(engine, client, coverage_id=coverage_id, last_attempt=False, now=NOW)
    assert (result.outcome, result.reason) == (FetchOutcome.FAILED, LinkFailure.PRIVATE_ADDRESS)
    found = row(engine, coverage_id)
    assert (found["status"], found["failure"], found["title"]) == ("refused", "private address", "Slides")


def test_revalidation_uses_the_validators_and_keeps_the_row_on_304(engine, web_server, client, talk_id):
    seen = []

    def validated(h):
        seen.append(h.headers.get("If-None-Match"))
        if h.headers.get("If-None-Match") == '"e1"':
            h.send_response(304)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        body = b"<title>Original</title>"
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("ETag", '"e1"')
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    coverage_id = coverage_add(engine, url=web_server.route("/v", validated), session_id=talk_id, now=NOW)
    coverage_fetch(engine, client, coverage_id=coverage_id, last_attempt=False, now=NOW)
    later = NOW + dt.timedelta(days=31)
    assert coverage_due(engine, now=later) == [coverage_id]
    assert coverage_due(engine, now=NOW + dt.timedelta(days=29)) == []
    result = coverage_fetch(engine, client, coverage_id=coverage_id, last_attempt=False, now=later)
    assert result.outcome is FetchOutcome.NOT_MODIFIED and seen == [None, '"e1"']
    assert row(engine, coverage_id)["title"] == "Original"
    assert coverage_due(engine, now=later + dt.timedelta(days=1)) == []


def test_a_row_left_fetching_by_a_lost_task_is_due(engine, talk_id):
    coverage_id = coverage_add(engine, url="https://example.com/x", session_id=talk_id, now=NOW)
    assert coverage_due(engine, now=NOW + dt.timedelta(minutes=5)) == []
    assert coverage_due(engine, now=NOW + dt.timedelta(minutes=16)) == [coverage_id]


def test_rows_written_without_the_new_columns_get_their_defaults(engine, talk_id):
    # The seed and older code insert only the original columns.
    with engine.begin() as connection:
        connection.execute(insert(db.coverage).values(session_id=talk_id, kind="slides", title="Old", url="https://x.example/",
                                                      created_at=NOW))
    with engine.connect() as connection:
        old = connection.execute(select(db.coverage)).mappings().one()
    assert (old["status"], old["provider"], old["failure"], old["fetched_at"]) == ("ok", "", "", None)


def test_a_deleted_row_is_gone(engine, client):
    assert coverage_fetch(engine, client, coverage_id=999, last_attempt=True).outcome is FetchOutcome.GONE
