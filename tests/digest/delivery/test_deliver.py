"""Delivery on its own (digest/delivery/deliver.py): claims, suppression, sending, the
ledger marks. Real SQLite and PostgreSQL, real Redis, a real maildir outbox."""

import datetime as dt
import shutil
from collections import defaultdict
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select, text

from digest.delivery import ledger as ledger_module
from digest.delivery.deliver import Delivery, DeliveryLimits
from digest.delivery.ledger import ClaimRef, SentMark
from digest.delivery.transports import DeliveryError, MaildirTransport
from digest.errors import RunPaused
from digest.runs.controls import run_cancel, run_pause
from digest.runs.planning import RunRequest, run_plan
from digest.stores import db
from digest.stores.keys import RedisKeys
from digest.values import Outgoing
from tests.factories import QueuedWork, make_person, make_subscription

DAY = dt.date(2026, 12, 1)
PREFIX = "dl:"


@dataclass
class Tally:
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    bounced: int = 0
    notes: list[str] = field(default_factory=list)


@pytest.fixture
def subscriptions(engine):
    with engine.begin() as c:
        return {
            n: make_subscription(c, make_person(c, handle=n), email=f"{n}@example.com") for n in ("ada", "bob", "cy")
        }


@pytest.fixture
def run_id(engine, subscriptions):
    return run_plan(engine, RunRequest(digest_date=DAY)).run_id


@pytest.fixture
def outbox(tmp_path):
    return MaildirTransport(tmp_path / "outbox")


@pytest.fixture
def told():
    return []


@pytest.fixture
def delivery(engine, redis_client, outbox, told):
    return Delivery(
        engine=engine, redis=redis_client, keys=RedisKeys(PREFIX), transport=lambda: outbox,
        on_sent=lambda sent, day: told.append(([o.subscription_id for o in sent], day)),
    )


def outgoing(subscriptions, *with_news):
    news = b"Subject: hi\r\n\r\nnews\r\n"
    return [
        Outgoing(
            subscription_id=sid, email=f"{name}@example.com", message=news if name in with_news else None,
            message_id=f"<{sid}@test>", mentioned={7: 20000} if name in with_news else {},
        )
        for name, sid in subscriptions.items()
    ]


def ledger(engine):
    d = db.delivery
    with engine.connect() as c:
        return {row.subscription_id: (row.status, row.last_error) for row in c.execute(select(d))}


def test_it_sends_the_news_skips_the_rest_and_reports_what_went(engine, delivery, run_id, subscriptions, outbox, told):
    tally = Tally()
    finished = delivery.deliver(run_id=run_id, digest_date=DAY, outgoing=outgoing(subscriptions, "ada", "bob"),
                                tally=tally, timings=defaultdict(float))
    assert finished and (tally.sent, tally.skipped, tally.failed) == (2, 1, 0)
    rows = ledger(engine)
    assert {sid: status for sid, (status, _) in rows.items()} == {
        subscriptions["ada"]: "sent", subscriptions["bob"]: "sent", subscriptions["cy"]: "skipped",
    }
    assert rows[subscriptions["cy"]][1] == "nothing new"
    assert len(list((outbox.path / "new").iterdir())) == 2
    assert told == [([subscriptions["ada"], subscriptions["bob"]], DAY)]


def test_an_unsubscribe_in_the_suppression_set_wins(engine, redis_client, delivery, run_id, subscriptions, outbox):
    redis_client.sadd(RedisKeys(PREFIX).unsubscribe_suppressed, subscriptions["bob"])
    tally = Tally()
    delivery.deliver(run_id=run_id, digest_date=DAY, outgoing=outgoing(subscriptions, "ada", "bob"), tally=tally,
                     timings=defaultdict(float))
    assert ledger(engine)[subscriptions["bob"]] == ("skipped", "unsubscribed during the run")
    assert tally.sent == 1 and len(list((outbox.path / "new").iterdir())) == 1


def test_a_failure_releases_the_group_as_failed_and_is_raised(engine, delivery, run_id, subscriptions, outbox, told):
    shutil.rmtree(outbox.path)  # the outbox vanished under the worker: not a delivery verdict
    with pytest.raises(DeliveryError, match="cannot write to the maildir outbox"):
        delivery.deliver(run_id=run_id, digest_date=DAY, outgoing=outgoing(subscriptions, "ada", "bob"),
                         tally=Tally(), timings=defaultdict(float))
    rows = ledger(engine)
    assert {status for status, _ in rows.values()} == {"failed"}  # held claims released, none left claimed
    assert all(reason.startswith("not sent: cannot write") for _, reason in rows.values())
    assert told == []


def test_a_cancelled_run_claims_nothing(engine, delivery, run_id, subscriptions):
    run_cancel(engine, QueuedWork(), run_id=run_id)
    finished = delivery.deliver(run_id=run_id, digest_date=DAY, outgoing=outgoing(subscriptions, "ada"),
                                tally=Tally(), timings=defaultdict(float))
    assert not finished and ledger(engine) == {}


def test_a_paused_run_stops_before_claiming(engine, delivery, run_id, subscriptions):
    run_pause(engine, run_id=run_id)
    with pytest.raises(RunPaused):
        delivery.deliver(run_id=run_id, digest_date=DAY, outgoing=outgoing(subscriptions, "ada"), tally=Tally(),
                         timings=defaultdict(float))
    assert ledger(engine) == {}


class _Meddling:
    """The real outbox, with something done to the world right after each accepted send."""

    def __init__(self, outbox, after_send):
        self.outbox, self.after_send, self.sends = outbox, after_send, []

    def send(self, *, sender, recipient, message):
        self.outbox.send(sender=sender, recipient=recipient, message=message)
        self.sends.append(recipient)
        self.after_send(recipient)

    def close(self):
        self.outbox.close()


def _take_over(engine, subscription_id):
    """Another worker's claim on a row it (rightly or not) found stale: a new generation."""
    now = ledger_module.utcnow()
    with engine.begin() as c:
        run = c.execute(select(db.delivery.c.run_id).where(db.delivery.c.subscription_id == subscription_id)).scalar()
        return ledger_module.delivery_claim(c, run_id=run, digest_date=DAY, subscription_ids=[subscription_id],
                                            claimed_at=now, stale_before=now + dt.timedelta(hours=1))


def test_settling_a_group_marks_only_the_claims_still_held_and_dates_the_sent(engine, run_id, subscriptions):
    ids = [subscriptions[n] for n in ("ada", "bob", "cy")]
    now = ledger_module.utcnow()
    with engine.begin() as c:
        claims = ledger_module.delivery_claim(c, run_id=run_id, digest_date=DAY, subscription_ids=ids, claimed_at=now,
                                              stale_before=now - dt.timedelta(minutes=1))
    _take_over(engine, subscriptions["bob"])  # bob's row now has generation 2: ours (1) may not mark it
    with engine.connect() as c:
        marked = ledger_module.delivery_mark(c, claims={sid: claims[sid].generation for sid in ids}, digest_date=DAY,
                                             status="skipped", reason="nothing new " * 300)
        dated = ledger_module.subscriptions_mark_sent(c, subscription_ids=[subscriptions["cy"]], digest_date=DAY)
        c.commit()
    assert (marked, dated) == (2, 1)
    d, s = db.delivery, db.subscription
    with engine.connect() as c:
        rows = dict(c.execute(select(d.c.subscription_id, d.c.status).where(d.c.digest_date == DAY)).all())
        errors = set(c.execute(select(d.c.last_error).where(d.c.status == "skipped")).scalars())
        last_sent = dict(c.execute(select(s.c.id, s.c.last_sent_date).where(s.c.id.in_(ids))).all())
    assert rows == {subscriptions["ada"]: "skipped", subscriptions["bob"]: "claimed", subscriptions["cy"]: "skipped"}
    assert [len(e) for e in errors] == [2000]  # the reason cut to the column's use
    assert last_sent == {subscriptions["ada"]: None, subscriptions["bob"]: None, subscriptions["cy"]: DAY}


def test_a_claim_taken_over_mid_group_is_neither_sent_nor_overwritten(
    engine, redis_client, run_id, subscriptions, outbox, told
):
    taken = {}
    meddling = _Meddling(outbox, lambda recipient: taken or taken.update(_take_over(engine, subscriptions["bob"])))
    delivery = Delivery(engine=engine, redis=redis_client, keys=RedisKeys(PREFIX), transport=lambda: meddling,
                        on_sent=lambda sent, day: told.append([o.subscription_id for o in sent]))
    tally = Tally()
    delivery.deliver(run_id=run_id, digest_date=DAY, outgoing=outgoing(subscriptions, "ada", "bob", "cy"),
                     tally=tally, timings=defaultdict(float))
    assert meddling.sends == ["ada@example.com", "cy@example.com"]  # bob's claim was not ours any more
    assert taken[subscriptions["bob"]].generation == 2
    d = db.delivery
    with engine.connect() as c:
        bob = c.execute(
            select(d.c.status, d.c.claim_generation).where(d.c.subscription_id == subscriptions["bob"])
        ).one()
    assert tuple(bob) == ("claimed", 2)  # the new holder's claim, untouched
    assert tally.sent == 2 and any("taken over" in note for note in tally.notes)
    assert told == [[subscriptions["ada"], subscriptions["cy"]]]


def test_a_claim_taken_over_while_the_throttle_held_the_worker_is_not_sent(
    engine, redis_client, run_id, subscriptions, outbox
):
    """The throttle can block for long (its Redis cut off, then TCP's retransmission
    backoff): the fence comes after it, so a claim taken over meanwhile is not sent."""
    calls = []

    def throttle():
        calls.append(1)
        if len(calls) == 2:  # held up before bob's send, long enough for bob's claim to be taken over
            _take_over(engine, subscriptions["bob"])

    meddling = _Meddling(outbox, lambda recipient: None)
    delivery = Delivery(engine=engine, redis=redis_client, keys=RedisKeys(PREFIX), transport=lambda: meddling,
                        on_sent=lambda sent, day: None, limits=DeliveryLimits(throttle=throttle))
    tally = Tally()
    delivery.deliver(run_id=run_id, digest_date=DAY, outgoing=outgoing(subscriptions, "ada", "bob", "cy"),
                     tally=tally, timings=defaultdict(float))
    assert meddling.sends == ["ada@example.com", "cy@example.com"]
    assert len(calls) == 3 and tally.sent == 2
    assert not any("may go twice" in note for note in tally.notes), tally.notes


def test_a_stale_generation_can_neither_mark_nor_fence(engine, run_id, subscriptions):
    sid = subscriptions["ada"]
    now = ledger_module.utcnow()
    with engine.begin() as c:
        first = ledger_module.delivery_claim(c, run_id=run_id, digest_date=DAY, subscription_ids=[sid], claimed_at=now,
                                             stale_before=now - dt.timedelta(minutes=1))[sid]
    second = _take_over(engine, sid)[sid]
    assert (first.generation, second.generation) == (1, 2)
    with engine.connect() as c:
        assert not ledger_module.delivery_fence(c, claim=ClaimRef(sid, DAY, 1), now=now)
        assert not ledger_module.delivery_mark_sent(c, sent=SentMark(ClaimRef(sid, DAY, 1), "<old@test>", (), now))
        assert ledger_module.delivery_mark(c, claims={sid: 1}, digest_date=DAY, status="failed", reason="x") == 0
        assert ledger_module.delivery_fence(c, claim=ClaimRef(sid, DAY, 2), now=now)
        assert ledger_module.delivery_mark_sent(c, sent=SentMark(ClaimRef(sid, DAY, 2), "<new@test>", (), now))
        c.commit()
    assert ledger(engine)[sid] == ("sent", "")


def _terminate_other_backends(engine):
    with engine.connect() as c:
        c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()"))


@pytest.mark.parametrize("migrated_database_url", ["postgresql"], indirect=True)  # pg_terminate_backend
def test_a_server_dropping_the_connection_after_a_send_loses_no_mark(
    engine, redis_client, run_id, subscriptions, outbox
):
    """The connection the per-message mark uses is cut by the server (as `pg_ctl stop -m
    fast` does) right after the SMTP server accepted each message: the mark goes through
    a new connection, and nothing that went out is released to be sent again."""
    meddling = _Meddling(outbox, lambda recipient: _terminate_other_backends(engine))
    delivery = Delivery(engine=engine, redis=redis_client, keys=RedisKeys(PREFIX), transport=lambda: meddling,
                        on_sent=lambda sent, day: None)
    tally = Tally()
    delivery.deliver(run_id=run_id, digest_date=DAY, outgoing=outgoing(subscriptions, "ada", "bob"), tally=tally,
                     timings=defaultdict(float))
    rows = ledger(engine)
    assert [rows[subscriptions[n]][0] for n in ("ada", "bob", "cy")] == ["sent", "sent", "skipped"]
    assert meddling.sends == ["ada@example.com", "bob@example.com"]  # each once
    assert any("database went away" in note for note in tally.notes)
