"""The beat tick on a real worker: it plans what is due in local time, and a schedule
change made at run time applies at the next tick."""

import datetime as dt

from sqlalchemy import func, select, update

from digest.stores import db
from tests.scheduler.conftest import DAY, assert_each_sent_exactly_once, ledger, run_row, set_schedule, wait_until

UTC = dt.UTC


def runs(engine):
    with engine.connect() as connection:
        return list(connection.execute(select(db.digest_run.c.id).order_by(db.digest_run.c.id)).scalars())


def chunk_rows(engine):
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(db.digest_chunk)).scalar_one()


def test_a_schedule_change_takes_effect_at_the_next_tick(engine, seeded, workers, enqueue, smtp_server):
    with engine.begin() as connection:
        # Everyone in London, without a send hour of their own: the schedule's default applies.
        connection.execute(update(db.person).values(timezone="Europe/London"))
        connection.execute(update(db.subscription).values(send_hour=None))
        # ... except five who chose 10:00.
        connection.execute(update(db.subscription).where(db.subscription.c.id.in_(seeded[:5])).values(send_hour=10))
    set_schedule(engine, default_send_hour=9, tick_seconds=60, chunk_size=10)
    workers.start()
    morning = dt.datetime.combine(DAY, dt.time(8, 30), UTC)  # 08:30 in London (GMT in December)

    enqueue.tick(now=morning)
    wait_until(lambda: _ticked(engine, morning), message="the tick")
    assert runs(engine) == []  # nobody due before 09:00

    # Changed at run time: the default hour moves to 08:00. Within the tick period
    # nothing happens; the next tick plans everyone without an hour of their own.
    set_schedule(engine, default_send_hour=8)
    enqueue.tick(now=morning + dt.timedelta(seconds=20))
    enqueue.tick(now=morning + dt.timedelta(seconds=60))
    wait_until(lambda: runs(engine), message="a planned run")
    [run_id] = runs(engine)
    wait_until(lambda: run_row(engine, run_id)["status"] == "finished", message="the run to finish")
    run = run_row(engine, run_id)
    assert run["digest_date"] == DAY and run["planned"] == 55
    assert sorted(ledger(engine, run_id)) == seeded[5:]
    assert_each_sent_exactly_once(engine, smtp_server, run_id)

    # A paused schedule plans nothing, even at 10:00 when the last five are due.
    set_schedule(engine, paused=True)
    ten = morning + dt.timedelta(hours=1, minutes=30)
    enqueue.tick(now=ten)
    wait_until(lambda: _ticked(engine, ten), message="the paused tick")
    assert runs(engine) == [run_id]
    set_schedule(engine, paused=False)
    enqueue.tick(now=ten + dt.timedelta(minutes=1))
    wait_until(lambda: len(runs(engine)) == 2, message="the second run")
    second = runs(engine)[1]
    wait_until(lambda: run_row(engine, second)["status"] == "finished", message="the second run to finish")
    assert sorted(ledger(engine, second)) == seeded[:5]
    assert sorted(ledger(engine)) == seeded  # everyone once, over the two runs


def _ticked(engine, moment):
    with engine.connect() as connection:
        last = connection.execute(select(db.schedule.c.last_tick_at)).scalar()
    if last is None:
        return False
    last = last if last.tzinfo else last.replace(tzinfo=UTC)
    return last >= moment
