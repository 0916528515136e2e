"""The digest pipeline end to end: real SQLite and PostgreSQL, real Redis, a real SMTP server.

Messages are counted where they arrive (aiosmtpd on loopback), so "sent once" means
the SMTP server received one message.
"""

import datetime as dt
import os
import subprocess
import sys
import textwrap
from email import policy
from email.parser import BytesParser

import pytest
from sqlalchemy import select, update

from digest.delivery import ledger
from digest.delivery.deliver import DeliveryLimits
from digest.errors import RunPaused
from digest.graph.store import Graph, attendance_set
from digest.graph.sync import rebuild
from digest.nightly.batch import work_here
from digest.nightly.pipeline import Pipeline
from digest.runs.chunks import chunk_complete
from digest.runs.controls import run_cancel
from digest.runs.finishing import FinishPolicy, run_finish
from digest.runs.planning import RunRequest, run_plan
from digest.runs.state import ChunkRecord
from digest.stores import db
from digest.stores.keys import RedisKeys
from tests.conftest import ROOT, create_postgres_database, django_migrate, drop_postgres_database
from tests.factories import QueuedWork, make_attendance, make_event, make_follow, make_person, make_subscription

DAY = dt.date(2026, 12, 1)
PREFIX = "pl:"


def days(n: int) -> dt.date:
    return DAY + dt.timedelta(days=n)


@pytest.fixture
def mail_settings(make_settings, database_url, smtp_server, redis_client):
    return make_settings(database_url=database_url, mail_url=smtp_server.url, redis_prefix=PREFIX)


@pytest.fixture
def world(mail_settings, engine, redis_client):
    """ada follows bob (speaks at conf), cy (attends conf and meetup); eve follows nobody;
    fay follows gus, who attends nothing; hal follows bob. All five subscribe."""
    with engine.begin() as c:
        p = {n: make_person(c, name=n.capitalize(), handle=n) for n in ("ada", "bob", "cy", "eve", "fay", "gus", "hal")}
        for follower, followee in (("ada", "bob"), ("ada", "cy"), ("fay", "gus"), ("hal", "bob")):
            make_follow(c, p[follower], p[followee])
        conf = make_event(c, days(3), name="PyCon Lisbon", slug="pycon-lisbon")
        meetup = make_event(c, days(40), name="Redis Meetup", slug="redis-meetup")
        past = make_event(c, days(-10), name="Old Conf", slug="old-conf")
        make_attendance(c, p["bob"], conf, "speaking")
        make_attendance(c, p["cy"], conf, "attending")
        make_attendance(c, p["cy"], meetup, "attending")
        make_attendance(c, p["bob"], past, "speaking")
        subs = {n: make_subscription(c, p[n], email=f"{n}@example.com") for n in ("ada", "eve", "fay", "hal")}
    graph = Graph(redis_client, PREFIX)
    rebuild(graph, engine)
    return dict(people=p, subs=subs, conf=conf, meetup=meetup, past=past, graph=graph)


@pytest.fixture
def pipeline(mail_settings, engine, redis_client):
    pipeline = Pipeline(mail_settings, engine=engine, redis=redis_client)
    yield pipeline
    pipeline.close()


TIMEOUT = dt.timedelta(minutes=10)
# These tests work their runs alone, in this process, and retry by hand.
FINISH = FinishPolicy(stale_after=dt.timedelta(0), max_attempts=0)


def plan_run(engine, **options):
    return run_plan(engine, RunRequest(**options))


def finish_run(engine, *, run_id):
    return run_finish(engine, run_id=run_id, policy=FINISH).summary


def work(pipeline, plan, index=0):
    """Work one chunk of the plan the way `lanyard digest run` and the tasks do."""
    return work_here(pipeline, chunk_id=plan.chunk_ids[index], timeout=TIMEOUT).result


def recover_stale_claims(engine, *, older_than):
    with engine.begin() as c:
        return ledger.delivery_recover_stale(c, older_than=older_than)


def run_all(engine, pipeline, digest_date=DAY, **plan_options):
    plan = plan_run(engine, digest_date=digest_date, **plan_options)
    results = [work(pipeline, plan, index) for index in range(len(plan.chunk_ids))]
    return plan, results, finish_run(engine, run_id=plan.run_id)


def ledger_rows(engine):
    d = db.delivery
    with engine.connect() as c:
        return {row.subscription_id: row for row in c.execute(select(d))}


def recipients(smtp_server):
    return sorted(r for m in smtp_server.messages for r in m.rcpt_tos)


def test_a_run_sends_what_is_new_and_skips_the_rest(mail_settings, engine, pipeline, world, smtp_server):
    plan, _, summary = run_all(engine, pipeline, chunk_size=2)

    assert recipients(smtp_server) == ["ada@example.com", "hal@example.com"]
    assert (summary.planned, summary.sent, summary.skipped, summary.failed, summary.bounced) == (4, 2, 2, 0, 0)
    assert summary.status == "finished"
    assert "friends strategy: redis" in summary.notes
    assert {"friends", "hydrate", "render", "mime", "send"} <= set(summary.timings)
    rows = ledger_rows(engine)
    assert {s: rows[sid].status for s, sid in world["subs"].items()} == {
        "ada": "sent", "eve": "skipped", "fay": "skipped", "hal": "sent",
    }
    assert rows[world["subs"]["eve"]].last_error == "nothing new"
    with engine.connect() as c:
        run = c.execute(select(db.digest_run).where(db.digest_run.c.id == plan.run_id)).one()
        last_sent = dict(c.execute(select(db.subscription.c.email, db.subscription.c.last_sent_date)).all())
    assert (run.sent, run.skipped, run.chunks_done, run.chunks_total) == (2, 2, 2, 2)
    assert last_sent["ada@example.com"] == DAY and last_sent["eve@example.com"] is None

    ada = BytesParser(policy=policy.default).parsebytes(
        next(m.data for m in smtp_server.messages if m.rcpt_tos == ("ada@example.com",))
    )
    assert ada["To"].addresses[0].addr_spec == "ada@example.com"
    assert "/u/" in ada["List-Unsubscribe"] and ada["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = ada.get_body(("plain",)).get_content()
    assert "PyCon Lisbon" in text and "Redis Meetup" in text and "Old Conf" not in text
    assert "Bob" in text and "Cy" in text
    # Names link to the people's pages on the configured site, in both parts.
    site = mail_settings.site.base_url.rstrip("/")
    assert f"- Bob <{site}/people/bob/>" in text.splitlines()
    html = ada.get_body(("html",)).get_content()
    assert f'<a href="{site}/people/bob/" style="color:#1a5fb4; text-decoration:underline">Bob</a>' in html


def test_running_a_batch_twice_sends_each_digest_once(engine, pipeline, world, smtp_server):
    first, _, _ = run_all(engine, pipeline)
    # The same chunk again (a retried task), then a whole new run for the same date.
    again = pipeline.process_chunk(run_id=first.run_id, subscription_ids=first.chunks[0])
    second, _, summary = run_all(engine, pipeline)

    assert (again.sent, again.skipped) == (0, 0)
    assert second.chunks == [] and summary.sent == 0
    assert recipients(smtp_server) == ["ada@example.com", "hal@example.com"]


def test_only_new_events_and_soon_ones_under_also_coming_up(engine, pipeline, world, smtp_server):
    run_all(engine, pipeline)
    # Next day: nothing new anywhere, so nobody gets an email.
    _, _, summary = run_all(engine, pipeline, digest_date=days(1))
    assert (summary.sent, summary.skipped) == (0, 4)

    # Then bob says he will speak at a new workshop.
    with engine.begin() as c:
        workshop = make_event(c, days(20), name="Async Workshop", slug="async-workshop")
        make_attendance(c, world["people"]["bob"], workshop, "speaking")
    world["graph"].apply(attendance_set(world["people"]["bob"], workshop, "speaking", days(20)))
    with engine.connect() as c:
        ada_sub = [s for s in pipeline_subscriptions(c) if s.id == world["subs"]["ada"]]
    digest = pipeline.prepare(ada_sub, digest_date=days(2))[0].digest
    assert [item.event.name for item in digest.new_items] == ["Async Workshop"]
    assert [p.name for p in digest.new_items[0].speakers] == ["Bob"]
    # PyCon (in 1 day) was mentioned before and is soon; the meetup is not soon.
    assert [item.event.name for item in digest.soon_items] == ["PyCon Lisbon"]

    _, _, summary = run_all(engine, pipeline, digest_date=days(2))
    assert summary.sent == 2  # ada and hal both follow bob
    assert len(smtp_server.messages) == 4


def test_what_was_mentioned_survives_redis_losing_everything(engine, pipeline, world, redis_client, smtp_server):
    run_all(engine, pipeline)
    rows = ledger_rows(engine)
    assert rows[world["subs"]["ada"]].mentioned == [world["conf"], world["meetup"]]  # in the ledger, with the delivery
    redis_client.flushdb()  # Redis restarted empty: the graph and every cached memory are gone
    plan, _, summary = run_all(engine, pipeline, digest_date=days(1))
    # Nobody is told again about what they were told yesterday; the graph was rebuilt.
    assert (summary.sent, summary.skipped) == (0, 4)
    assert "the Redis graph was missing: rebuilt from the database" in summary.notes
    assert len(smtp_server.messages) == 2
    # The copy in Redis is whole again (and marked so), read from the ledger.
    assert redis_client.zscore(RedisKeys(PREFIX).mentioned(world["subs"]["ada"]), world["meetup"]) is not None


def test_a_missing_search_index_is_rebuilt_for_the_search_strategy(make_settings, database_url, smtp_server, engine,
                                                                     redis_client, world, tmp_path):
    # The index was never built (or its folder was deleted): it answers with nothing, and
    # a digest run trusting it would settle everyone as "nothing new".
    settings = make_settings(database_url=database_url, mail_url=smtp_server.url, redis_prefix=PREFIX,
                             friends_strategy="search", search_url=f"tantivy://{tmp_path / 'search'}")
    pipeline = Pipeline(settings, engine=engine, redis=redis_client)
    try:
        _, _, summary = run_all(engine, pipeline)
    finally:
        pipeline.close()
    assert recipients(smtp_server) == ["ada@example.com", "hal@example.com"]
    assert "the search index was missing: rebuilt from the database" in summary.notes
    assert "friends strategy: search" in summary.notes


def pipeline_subscriptions(connection):
    from digest.nightly.hydrate import subscriptions_by_id

    ids = connection.execute(select(db.subscription.c.id)).scalars().all()
    return subscriptions_by_id(connection, ids)


def test_the_cap_leaves_the_rest_for_the_calendar(engine, pipeline, world):
    with engine.begin() as c:
        for n in range(25):
            event = make_event(c, days(50 + n), name=f"Event {n:02}", slug=f"event-{n}")
            make_attendance(c, world["people"]["cy"], event, "attending")
    rebuild(world["graph"], engine)
    with engine.connect() as c:
        ada_sub = [s for s in pipeline_subscriptions(c) if s.id == world["subs"]["ada"]]
    digest = pipeline.prepare(ada_sub, digest_date=DAY)[0].digest
    assert len(digest.new_items) == 20 and digest.more_count == 7
    starts = [item.event.start_date for item in digest.new_items]
    assert starts == sorted(starts) and digest.new_items[0].event.name == "PyCon Lisbon"
    assert digest.new_items[0].event.url == "http://localhost:8000/events/pycon-lisbon/"


def test_a_4xx_is_retried_and_delivered_once(engine, pipeline, world, smtp_server):
    smtp_server.fail_next(1, "451 4.3.0 Try again later")
    plan = plan_run(engine, digest_date=DAY)
    first = work(pipeline, plan)
    assert (first.sent, first.failed) == (1, 1)
    failed = [row for row in ledger_rows(engine).values() if row.status == "failed"]
    assert len(failed) == 1 and "451" in failed[0].last_error and failed[0].attempts == 1

    retry = pipeline.process_chunk(run_id=plan.run_id, subscription_ids=plan.chunks[0])
    assert (retry.sent, retry.failed) == (1, 0)
    assert recipients(smtp_server) == ["ada@example.com", "hal@example.com"]
    row = ledger_rows(engine)[failed[0].subscription_id]
    assert (row.status, row.attempts) == ("sent", 2)
    assert finish_run(engine, run_id=plan.run_id).sent == 2


def test_a_5xx_marks_the_subscription_bouncing_and_the_batch_goes_on(engine, pipeline, world, smtp_server):
    smtp_server.refuse("ada@example.com", "550 5.1.1 No such user")
    _, _, summary = run_all(engine, pipeline)

    assert recipients(smtp_server) == ["hal@example.com"]
    assert (summary.sent, summary.bounced) == (1, 1)
    with engine.connect() as c:
        status = c.execute(
            select(db.subscription.c.status).where(db.subscription.c.id == world["subs"]["ada"])
        ).scalar()
    assert status == "bouncing"
    assert ledger_rows(engine)[world["subs"]["ada"]].status == "bounced"
    # A bouncing subscription is not planned again.
    assert plan_run(engine, digest_date=days(1)).planned == 3


def test_unsubscribed_during_the_run_is_skipped(mail_settings, engine, redis_client, world, smtp_server):
    subs = world["subs"]
    with engine.begin() as c:
        extra = {n: make_subscription(c, world["people"][n], email=f"{n}@example.com") for n in ("bob", "cy")}
        make_follow(c, world["people"]["bob"], world["people"]["cy"])
        make_follow(c, world["people"]["cy"], world["people"]["bob"])
    rebuild(world["graph"], engine)
    plan = plan_run(engine, digest_date=DAY)
    # Between planning and the claim, bob unsubscribes in the database...
    with engine.begin() as c:
        c.execute(update(db.subscription).where(db.subscription.c.id == extra["bob"]).values(status="unsubscribed"))
    # ...and while the first email goes out, cy unsubscribes through the endpoint.
    suppressed = RedisKeys(PREFIX).unsubscribe_suppressed

    def throttle():
        redis_client.sadd(suppressed, extra["cy"])

    # suppression_max_age=0: the set is read before every single send.
    pipeline = Pipeline(mail_settings, engine=engine, redis=redis_client,
                        limits=DeliveryLimits(throttle=throttle, suppression_max_age=0))
    try:
        result = pipeline.process_chunk(run_id=plan.run_id, subscription_ids=plan.chunks[0])
    finally:
        pipeline.close()

    assert recipients(smtp_server) == ["ada@example.com", "hal@example.com"]
    rows = ledger_rows(engine)
    assert (rows[extra["bob"]].status, rows[extra["bob"]].last_error) == ("skipped", "subscription is unsubscribed")
    assert (rows[extra["cy"]].status, rows[extra["cy"]].last_error) == ("skipped", "unsubscribed during the run")
    assert (result.sent, result.skipped) == (2, 4)
    assert rows[subs["ada"]].status == "sent"


def test_the_suppression_set_is_read_for_a_claim_group_at_once(engine, pipeline, redis_client, world, smtp_server):
    plan = plan_run(engine, digest_date=DAY)
    redis_client.sadd(RedisKeys(PREFIX).unsubscribe_suppressed, world["subs"]["hal"])
    result = pipeline.process_chunk(run_id=plan.run_id, subscription_ids=plan.chunks[0])
    assert recipients(smtp_server) == ["ada@example.com"]
    assert ledger_rows(engine)[world["subs"]["hal"]].last_error == "unsubscribed during the run"
    assert (result.sent, result.skipped) == (1, 3)


def test_a_dead_workers_claims_are_taken_over_once_stale(engine, pipeline, world, smtp_server):
    plan = plan_run(engine, digest_date=DAY)
    ada, hal = world["subs"]["ada"], world["subs"]["hal"]
    # A worker claimed ada an hour ago and died; another claimed hal just now and is alive.
    with engine.begin() as c:
        for sid, age in ((ada, dt.timedelta(hours=1)), (hal, dt.timedelta(seconds=5))):
            claimed_at = ledger.utcnow() - age
            ledger.delivery_claim(c, run_id=plan.run_id, digest_date=DAY, subscription_ids=[sid],
                                  claimed_at=claimed_at, stale_before=claimed_at)

    result = work(pipeline, plan)

    assert recipients(smtp_server) == ["ada@example.com"]
    assert result.sent == 1
    rows = ledger_rows(engine)
    assert (rows[ada].status, rows[ada].attempts) == ("sent", 2)
    assert rows[hal].status == "claimed"

    # The periodic recovery turns hal's claim, once old, into a failed delivery; the
    # next run plans and sends it.
    assert recover_stale_claims(engine, older_than=dt.timedelta(minutes=5)) == 0
    assert recover_stale_claims(engine, older_than=dt.timedelta(seconds=0)) == 1
    assert ledger_rows(engine)[hal].status == "failed"
    _, _, summary = run_all(engine, pipeline)
    assert summary.sent == 1
    assert recipients(smtp_server) == ["ada@example.com", "hal@example.com"]


def set_run_status(engine, run_id, status):
    with engine.begin() as c:
        c.execute(update(db.digest_run).where(db.digest_run.c.id == run_id).values(status=status))


def test_paused_runs_raise_and_cancelled_runs_send_nothing(engine, pipeline, world, smtp_server):
    plan = plan_run(engine, digest_date=DAY)
    set_run_status(engine, plan.run_id, "paused")
    with pytest.raises(RunPaused):
        pipeline.process_chunk(run_id=plan.run_id, subscription_ids=plan.chunks[0])
    set_run_status(engine, plan.run_id, "cancelled")
    result = pipeline.process_chunk(run_id=plan.run_id, subscription_ids=plan.chunks[0])
    assert result.cancelled and result.sent == 0
    assert smtp_server.messages == [] and ledger_rows(engine) == {}
    assert finish_run(engine, run_id=plan.run_id).status == "cancelled"


def test_a_pause_during_a_chunk_stops_between_claim_groups(
    mail_settings, engine, redis_client, world, smtp_server
):
    plan = plan_run(engine, digest_date=DAY)
    pipeline = Pipeline(mail_settings, engine=engine, redis=redis_client,
                        limits=DeliveryLimits(throttle=lambda: set_run_status(engine, plan.run_id, "paused")))
    pipeline.delivery.claim_group = 1
    try:
        with pytest.raises(RunPaused):
            pipeline.process_chunk(run_id=plan.run_id, subscription_ids=plan.chunks[0])
        assert recipients(smtp_server) == ["ada@example.com"]
        set_run_status(engine, plan.run_id, "running")
        pipeline.delivery.throttle = None
        work(pipeline, plan)
    finally:
        pipeline.close()
    assert recipients(smtp_server) == ["ada@example.com", "hal@example.com"]
    summary = finish_run(engine, run_id=plan.run_id)
    assert (summary.sent, summary.skipped) == (2, 2)


def test_a_dry_run_sends_and_records_nothing(engine, pipeline, world, smtp_server):
    _, results, summary = run_all(engine, pipeline, dry_run=True)
    assert smtp_server.messages == [] and ledger_rows(engine) == {}
    assert (summary.dry_run, summary.sent, summary.skipped) == (True, 2, 2)
    # Nothing was remembered as mentioned: the real run still sends.
    _, _, summary = run_all(engine, pipeline)
    assert summary.sent == 2


def test_plan_run_restricts_and_limits(engine, world):
    subs = world["subs"]
    plan = plan_run(engine, digest_date=DAY, subscription_ids=[subs["ada"], subs["fay"], 999], chunk_size=1)
    assert plan.chunks == [[subs["ada"]], [subs["fay"]]] and len(plan.chunk_ids) == 2
    # Subscriptions waiting in that run's chunks are left to it.
    assert sorted(plan_run(engine, digest_date=DAY).chunks[0]) == sorted([subs["eve"], subs["hal"]])
    with engine.connect() as c:
        active = c.execute(select(db.digest_run.c.id)).scalars().all()
    for run_id in active:
        run_cancel(engine, QueuedWork(), run_id=run_id)
    assert plan_run(engine, digest_date=DAY, limit=3).planned == 3
    assert plan_run(engine, digest_date=DAY, list_name="weekly").planned == 0
    with pytest.raises(ValueError, match="unknown list"):
        plan_run(engine, digest_date=DAY, list_name="hourly")


TWO_WORKERS = textwrap.dedent("""
    import sys, time
    from digest.config import load_settings
    from digest.delivery.deliver import DeliveryLimits
    from digest.nightly.pipeline import Pipeline
    settings = load_settings()
    pipeline = Pipeline(settings, limits=DeliveryLimits(throttle=lambda: time.sleep(0.01)))
    start = float(sys.argv[3])
    while time.time() < start:
        time.sleep(0.005)
    result = pipeline.process_chunk(run_id=int(sys.argv[1]), subscription_ids=[int(i) for i in sys.argv[2].split(",")])
    pipeline.close()
    print(result.sent)
""")


def test_two_processes_on_one_chunk_send_each_digest_once(
    mail_settings, database_url, engine, world, smtp_server, tmp_path
):
    people = world["people"]
    with engine.begin() as c:
        for n in range(30):
            follower = make_person(c, name=f"Fan {n}", handle=f"fan{n}")
            make_follow(c, follower, people["bob"])
            make_subscription(c, follower, email=f"fan{n}@example.com")
    rebuild(world["graph"], engine)
    plan = plan_run(engine, digest_date=DAY)
    env = {
        **os.environ,
        "LANYARD_DATABASE_URL": database_url, "LANYARD_MAIL_URL": smtp_server.url, "LANYARD_REDIS_PREFIX": PREFIX,
        "LANYARD_REDIS_URL": os.environ.get("LANYARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
        "LANYARD_SECRET_KEYS": mail_settings.secret_keys[0], "LANYARD_DATA_DIR": str(tmp_path / "var"),
    }
    import time

    start = str(time.time() + 3)
    chunk = ",".join(map(str, plan.chunks[0]))
    workers = [
        subprocess.Popen([sys.executable, "-c", TWO_WORKERS, str(plan.run_id), chunk, start],
                         env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=120) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), outputs

    expected = ["ada@example.com", "hal@example.com"] + [f"fan{n}@example.com" for n in range(30)]
    assert recipients(smtp_server) == sorted(expected)
    assert sum(int(out) for out, _ in outputs) == 32
    chunk_complete(engine, chunk_id=plan.chunk_ids[0], record=ChunkRecord())  # what the chunk's task does after
    assert finish_run(engine, run_id=plan.run_id).sent == 32


@pytest.fixture
def replica_url(database_url, tmp_path):
    """A second migrated database of the same kind, standing in for a read replica."""
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'replica.sqlite3'}"
        django_migrate(url, tmp_path)
        yield url
    else:
        url = create_postgres_database()
        try:
            django_migrate(url, tmp_path)
            yield url
        finally:
            drop_postgres_database(url)


def test_the_batch_hydrates_from_the_replica_and_keeps_its_ledger_on_the_primary(
    make_settings, database_url, replica_url, engine, redis_client, world, smtp_server
):
    settings = make_settings(database_url=database_url, database_replica_url=replica_url, mail_url=smtp_server.url,
                             redis_prefix=PREFIX)
    replica = db.make_engine(settings.database.replica)
    with engine.connect() as source, replica.begin() as target:  # "replicate" what the world wrote
        for table in db.metadata.sorted_tables:
            rows = [dict(row) for row in source.execute(select(table)).mappings()]
            if rows:
                target.execute(table.insert(), rows)
        target.execute(update(db.event_).where(db.event_.c.id == world["conf"]).values(name="PyCon Lisbon (replica)"))
    pipeline = Pipeline(settings, engine=engine, redis=redis_client)
    try:
        plan, _, summary = run_all(engine, pipeline)
    finally:
        pipeline.close()
    ada = BytesParser(policy=policy.default).parsebytes(
        next(m.data for m in smtp_server.messages if m.rcpt_tos == ("ada@example.com",))
    )
    assert "PyCon Lisbon (replica)" in ada.get_body(("plain",)).get_content()  # read from the replica
    assert summary.sent > 0 and len(ledger_rows(engine)) == len(world["subs"])  # the ledger is the primary's
    with replica.connect() as connection:
        assert connection.execute(select(db.delivery)).all() == []
    replica.dispose()
