"""Runs through real Celery workers, a real Redis broker, SQLite and PostgreSQL, and a
real SMTP server: messages are counted where they arrive."""

from __future__ import annotations

import time

from digest.runs.controls import run_cancel, run_pause, run_resume, run_retry_failed
from digest.runs.planning import RunRequest, chunked, run_start
from digest.runs.progress import run_progress
from digest.stores import db
from tests.scheduler.conftest import (
    DAY,
    assert_each_sent_exactly_once,
    ledger,
    recipients,
    run_row,
    set_schedule,
    settle,
    wait_until,
)


def finished(engine, run_id):
    return run_row(engine, run_id)["status"] in ("finished", "cancelled")


def test_a_run_over_many_chunks_completes_with_the_right_totals(engine, seeded, workers, enqueue, smtp_server):
    set_schedule(engine, chunk_size=4)
    workers.start()
    run_id = run_start(engine, enqueue, request=RunRequest(digest_date=DAY, chunk_size=0))
    wait_until(lambda: finished(engine, run_id), message="the run to finish")

    run = run_row(engine, run_id)
    assert run["status"] == "finished"
    assert run["planned"] == len(seeded) == 60
    chunks = len(chunked(seeded, 4))  # 15 of 4, the last two as 8 of 1
    assert run["chunks_total"] == chunks == 21 and run["chunks_done"] == chunks
    sent = assert_each_sent_exactly_once(engine, smtp_server, run_id)
    entries = ledger(engine, run_id)
    assert sorted(entries) == seeded  # everyone settled, once
    assert run["sent"] == len(sent) > 0
    assert run["skipped"] == sum(1 for s in entries.values() if s == "skipped")
    assert run["sent"] + run["skipped"] == 60 and run["failed"] == 0
    progress = run_progress(engine, run_id=run_id)
    assert (progress.sent, progress.skipped, progress.processed) == (run["sent"], run["skipped"], 60)

    # Starting again for the same date plans nobody: the ledger has them all.
    again = run_start(engine, enqueue, request=RunRequest(digest_date=DAY, chunk_size=0))
    wait_until(lambda: finished(engine, again), message="the empty run to finish")
    assert run_row(engine, again)["planned"] == 0
    assert len(recipients(smtp_server)) == len(sent)


def test_pause_stops_sending_and_resume_sends_the_rest(engine, seeded, workers, enqueue, smtp_server):
    set_schedule(engine, chunk_size=3, rate_limit=8)  # slow enough to pause half-way
    workers.start()
    run_id = run_start(engine, enqueue, request=RunRequest(digest_date=DAY, chunk_size=0))
    wait_until(lambda: len(recipients(smtp_server)) >= 5, message="some digests to arrive")
    run_pause(engine, run_id=run_id)
    paused = settle(engine, run_id)
    arrived = len(recipients(smtp_server))
    time.sleep(2)  # nothing more arrives while paused
    assert len(recipients(smtp_server)) == arrived
    assert run_row(engine, run_id)["status"] == "paused"
    assert len(paused) < 60

    set_schedule(engine, rate_limit=0)
    run_resume(engine, enqueue, run_id=run_id)
    wait_until(lambda: finished(engine, run_id), message="the resumed run to finish")
    assert run_row(engine, run_id)["status"] == "finished"
    assert sorted(ledger(engine, run_id)) == seeded
    assert len(assert_each_sent_exactly_once(engine, smtp_server, run_id)) > arrived


def test_cancel_stops_for_good(engine, seeded, workers, enqueue, smtp_server):
    set_schedule(engine, chunk_size=3, rate_limit=8)
    workers.start()
    run_id = run_start(engine, enqueue, request=RunRequest(digest_date=DAY, chunk_size=0))
    wait_until(lambda: len(recipients(smtp_server)) >= 3, message="some digests to arrive")
    run_cancel(engine, enqueue, run_id=run_id)
    wait_until(lambda: run_row(engine, run_id)["finished_at"] is not None, message="the cancelled run to end")
    settle(engine, run_id)
    arrived = len(recipients(smtp_server))
    time.sleep(2)
    run = run_row(engine, run_id)
    assert run["status"] == "cancelled"
    assert len(recipients(smtp_server)) == arrived
    sent = assert_each_sent_exactly_once(engine, smtp_server, run_id)
    assert len(sent) > 0 and len(ledger(engine, run_id)) < 60
    assert run["chunks_done"] == run["chunks_total"]


def test_smtp_down_then_retry_failed_sends_each_once(engine, seeded, workers, enqueue, smtp_server):
    """With automatic retries off, a run against a dead mail server ends with failures;
    `retry-failed` after the server is back delivers each of them once."""
    set_schedule(engine, chunk_size=10, max_attempts=0)
    smtp_server.stop()
    workers.start()
    run_id = run_start(engine, enqueue, request=RunRequest(digest_date=DAY, chunk_size=0))
    wait_until(lambda: finished(engine, run_id), message="the run to finish with failures")
    run = run_row(engine, run_id)
    failed = [sid for sid, status in ledger(engine, run_id).items() if status == "failed"]
    assert failed and run["failed"] == len(failed) and run["sent"] == 0

    smtp_server.start()
    assert run_retry_failed(engine, enqueue, run_id=run_id) == len(failed)
    wait_until(
        lambda: finished(engine, run_id) and "failed" not in ledger(engine, run_id).values(), message="the retry"
    )
    wait_until(lambda: finished(engine, run_id), message="the run to finish again")
    sent = assert_each_sent_exactly_once(engine, smtp_server, run_id)
    assert sorted(sent) == sorted(failed)
    assert run_row(engine, run_id)["sent"] == len(sent)


def test_smtp_down_for_a_while_slows_the_run_and_loses_nothing(engine, seeded, workers, enqueue, smtp_server):
    set_schedule(engine, chunk_size=10, max_attempts=20)
    smtp_server.stop()
    workers.start()
    run_id = run_start(engine, enqueue, request=RunRequest(digest_date=DAY, chunk_size=0))
    wait_until(lambda: "failed" in ledger(engine, run_id).values(), message="deliveries to fail")
    time.sleep(5)
    smtp_server.start()
    # The failed deliveries go round again after pauses that double (digest.nightly.batch.retry_delay):
    # on a loaded machine the outage can outlast a few rounds, and the last pause is up to
    # 300 s; the deadline covers that, the condition ends the wait as soon as it holds.
    wait_until(lambda: finished(engine, run_id), timeout=420, message="the run to finish after the outage")
    run = run_row(engine, run_id)
    entries = ledger(engine, run_id)
    assert sorted(entries) == seeded and "failed" not in entries.values()
    sent = assert_each_sent_exactly_once(engine, smtp_server, run_id)
    assert run["sent"] == len(sent) > 0 and run["failed"] == 0
    assert "failed temporarily" in run["notes"]  # the run says what happened


def test_a_worker_killed_mid_chunk_loses_and_doubles_nothing(engine, seeded, workers, enqueue, smtp_server):
    # The kill must land while a worker waits for a send token, not in the one-message
    # window between the SMTP server accepting a message and the ledger recording it
    # (the fault README's "Faults" owns up to; see digest/delivery/ledger.py). So: one
    # message a second, and the kill only once every message received is marked sent,
    # which leaves about a second before the next send even on a loaded machine.
    set_schedule(engine, chunk_size=6, rate_limit=1, chunk_timeout=3)
    first = workers.start()
    run_id = run_start(engine, enqueue, request=RunRequest(digest_date=DAY, chunk_size=0))

    def between_sends():
        entries = ledger(engine, run_id)
        marked = sum(1 for status in entries.values() if status == "sent")
        return "claimed" in entries.values() and len(recipients(smtp_server)) == marked >= 3

    wait_until(between_sends, interval=0.05, message="a chunk in the middle of sending, between two sends")
    workers.kill(first)
    assert run_row(engine, run_id)["status"] == "running"
    stuck = ledger(engine, run_id)
    assert len(stuck) < 60

    time.sleep(3.5)  # the dead worker's chunks and claims go stale
    set_schedule(engine, rate_limit=0)
    workers.start()
    sweeps = iter(range(10**6))

    def finished_sweeping():
        # What the beat tick does every period: recover stale claims and lost chunks.
        if next(sweeps) % 25 == 0:
            enqueue.sweep()
        return finished(engine, run_id)

    wait_until(finished_sweeping, message="the run to finish after the restart")
    assert sorted(ledger(engine, run_id)) == seeded
    sent = assert_each_sent_exactly_once(engine, smtp_server, run_id)
    assert run_row(engine, run_id)["sent"] == len(sent)
    assert "queued again" in run_row(engine, run_id)["notes"]


def test_the_global_pause_holds_chunks_until_lifted(engine, seeded, workers, enqueue, smtp_server):
    set_schedule(engine, chunk_size=20, paused=True)
    workers.start()
    run_id = run_start(engine, enqueue, request=RunRequest(digest_date=DAY, chunk_size=0))
    wait_until(lambda: _chunk_statuses(engine, run_id) == {"paused"}, message="chunks to wait")
    assert recipients(smtp_server) == []
    set_schedule(engine, paused=False)
    enqueue.sweep()
    wait_until(lambda: finished(engine, run_id), message="the run to finish after the pause")
    assert sorted(ledger(engine, run_id)) == seeded


def _chunk_statuses(engine, run_id):
    from sqlalchemy import select

    c = db.digest_chunk
    with engine.connect() as connection:
        return set(connection.execute(select(c.c.status).where(c.c.run_id == run_id)).scalars())


