"""Finishing (digest/runs/finishing.py): only when nothing is in flight or retriable; late
records; giving up; a chunk failing for good. Real SQLite and PostgreSQL, Redis, SMTP."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from digest.delivery import ledger
from digest.nightly.batch import Verdict, work_here
from digest.nightly.pipeline import Pipeline
from digest.runs.finishing import FinishPolicy, run_finish
from digest.runs.planning import RunRequest, run_plan
from digest.runs.state import ChunkRecord, run_get, run_record
from digest.stores import db
from digest.stores.keys import RedisKeys
from digest.vocabulary import RunStatus
from tests.digest.runs.conftest import DAY, PREFIX, TIMEOUT, status


def work_all(pipeline, plan):
    return [work_here(pipeline, chunk_id=chunk_id, timeout=TIMEOUT) for chunk_id in plan.chunk_ids]


def test_a_run_finishes_only_when_nothing_is_in_flight_or_retriable(engine, world, redis_client, smtp_server):
    smtp_server.fail_next(1, "451 4.3.0 Try again later")
    plan = run_plan(engine, RunRequest(digest_date=DAY))
    pipeline = Pipeline(world["settings"], engine=engine, redis=redis_client)
    try:
        work_all(pipeline, plan)
        # A claim of a worker still sending (fresh) holds the run open.
        with engine.connect() as c:
            late = (
                c.execute(select(db.delivery.c.subscription_id).where(db.delivery.c.status == "sent")).scalars().first()
            )
            late_email = c.execute(select(db.subscription.c.email).where(db.subscription.c.id == late)).scalar_one()
        # (As if its "sent" mark, and so its mention memory, never made it.)
        with engine.begin() as c:
            c.execute(update(db.delivery).where(db.delivery.c.subscription_id == late)
                      .values(status="claimed", claimed_at=ledger.utcnow(), mentioned=None))
        redis_client.delete(RedisKeys(PREFIX).mentioned(late))
        policy = FinishPolicy(stale_after=dt.timedelta(minutes=5), max_attempts=2)
        waiting = run_finish(engine, run_id=plan.run_id, policy=policy)
        assert (waiting.ended, waiting.in_flight) == (False, 1)
        assert status(engine, plan.run_id) == RunStatus.RUNNING

        # Once stale, it is taken over; it and the 451 go round again in new chunks.
        retry = run_finish(engine, run_id=plan.run_id, policy=FinishPolicy(stale_after=dt.timedelta(0), max_attempts=2))
        assert not retry.ended and retry.retrying == 2 and retry.retry_chunk_ids
        for chunk_id in retry.retry_chunk_ids:
            assert work_here(pipeline, chunk_id=chunk_id, timeout=TIMEOUT).verdict == Verdict.DONE
    finally:
        pipeline.close()
    done = run_finish(engine, run_id=plan.run_id, policy=policy)
    assert done.summary.status == RunStatus.FINISHED
    assert (done.summary.sent, done.summary.failed) == (3, 0)
    received = sorted(r for m in smtp_server.messages for r in m.rcpt_tos)
    # The taken-over delivery had been sent: the ledger had it sent before the test
    # faked a worker holding it, which is the repeat a stale claim costs.
    assert received.count(late_email) == 2 and len(received) == 4


def test_a_record_arriving_after_the_finish_does_not_count_again(engine, world, redis_client):
    """A worker host cut off mid-chunk comes back after its chunk was taken over and the
    run finished: its late record must not add its sends to the ledger's totals."""
    plan = run_plan(engine, RunRequest(digest_date=DAY))
    pipeline = Pipeline(world["settings"], engine=engine, redis=redis_client)
    try:
        work_all(pipeline, plan)
    finally:
        pipeline.close()
    policy = FinishPolicy(stale_after=TIMEOUT, max_attempts=2)
    assert run_finish(engine, run_id=plan.run_id, policy=policy).summary.sent == 3
    run_record(engine, run_id=plan.run_id, record=ChunkRecord(sent=2, notes=["late"]))
    run = run_get(engine, run_id=plan.run_id)
    assert (run["sent"], run["failed"]) == (3, 0)


def test_a_run_that_gives_up_says_how_many_and_why(engine, world, redis_client, smtp_server):
    smtp_server.stop()
    plan = run_plan(engine, RunRequest(digest_date=DAY))
    pipeline = Pipeline(world["settings"], engine=engine, redis=redis_client)
    try:
        work_all(pipeline, plan)
        policy = FinishPolicy(stale_after=dt.timedelta(0), max_attempts=1)
        again = run_finish(engine, run_id=plan.run_id, policy=policy)
        assert again.retrying == 3
        for chunk_id in again.retry_chunk_ids:
            work_here(pipeline, chunk_id=chunk_id, timeout=TIMEOUT)
    finally:
        pipeline.close()
    summary = run_finish(engine, run_id=plan.run_id, policy=policy).summary
    assert summary.status == RunStatus.FINISHED and summary.failed == 3
    assert "gave up on 3 deliveries after 2 attempts" in summary.notes
    assert "cannot connect to SMTP server" in summary.notes


def test_a_chunk_failing_for_good_fails_its_deliveries_and_the_run(engine, world, redis_client, smtp_server):
    # Data the MIME build refuses (an address with a line break in it, written around
    # the site's validation): not a store away, so retrying would fail the same way.
    with engine.begin() as c:
        c.execute(update(db.subscription).where(db.subscription.c.id == world["subs"][2])
                  .values(email="dee@example.com\r\nBcc: eve@example.com"))
    plan = run_plan(engine, RunRequest(digest_date=DAY))
    pipeline = Pipeline(world["settings"], engine=engine, redis=redis_client)
    try:
        [outcome] = work_all(pipeline, plan)
    finally:
        pipeline.close()
    assert outcome.verdict == Verdict.FAILED and outcome.last
    summary = run_finish(engine, run_id=plan.run_id, policy=FinishPolicy(stale_after=TIMEOUT, max_attempts=5)).summary
    assert summary.status == RunStatus.FAILED
    with engine.connect() as c:
        rows = c.execute(select(db.delivery.c.status, db.delivery.c.last_error)).all()
    assert len(rows) == 3 and {s for s, _ in rows} == {"failed"}
    assert all(reason.startswith("chunk failed: ") for _, reason in rows)
    assert "chunk 1 failed: " in summary.notes and "3 deliveries marked failed" in summary.notes
    assert smtp_server.messages == []


