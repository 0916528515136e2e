"""A ledger with sent deliveries to bounce, and the processor, on real databases and Redis."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from digest.bounces.process import FeedbackPolicy, FeedbackProcessor
from digest.bounces.verp import ReturnPath
from digest.stores import db
from digest.stores.keys import RedisKeys
from digest.tokens import DeliveryRef, ReturnPathSigner
from tests.conftest import TEST_SECRET
from tests.factories import NOW, make_person, make_subscription

DAY = dt.date(2026, 12, 1)
PREFIX = "bo:"
DOMAIN = "bounces.lanyard.example"


@dataclass
class Ledger:
    engine: object
    return_path: ReturnPath
    subscription_id: int
    run_id: int

    def deliver(self, day: dt.date = DAY, *, subscription_id: int | None = None, status: str = "sent") -> DeliveryRef:
        """A delivery row as the pipeline leaves it after the SMTP server accepted the message."""
        sid = subscription_id or self.subscription_id
        with self.engine.begin() as c:
            c.execute(db.delivery.insert().values(
                run_id=self.run_id, subscription_id=sid, digest_date=day, status=status,
                message_id=message_id(sid, day), attempts=1, last_error="", claimed_at=NOW, sent_at=NOW,
            ))
        return DeliveryRef(sid, day)

    def address(self, ref: DeliveryRef) -> str:
        return self.return_path.address(ref)

    def subscription(self, sid: int | None = None):
        s = db.subscription
        with self.engine.connect() as c:
            return c.execute(select(s).where(s.c.id == (sid or self.subscription_id))).one()

    def delivery(self, ref: DeliveryRef):
        d = db.delivery
        with self.engine.connect() as c:
            return c.execute(
                select(d).where(d.c.subscription_id == ref.subscription_id, d.c.digest_date == ref.digest_date)
            ).one()

    def feedback(self):
        with self.engine.connect() as c:
            return c.execute(select(db.delivery_feedback).order_by(db.delivery_feedback.c.id)).all()

    def snapshot(self, redis) -> tuple:
        """Everything a report could change."""
        with self.engine.connect() as c:
            tables = tuple(
                sorted(tuple(str(v) for v in row) for row in c.execute(select(table)))
                for table in (db.subscription, db.delivery, db.delivery_feedback, db.unsubscribe_event)
            )
        return tables, sorted(redis.smembers(RedisKeys(PREFIX).unsubscribe_suppressed))


def message_id(subscription_id: int, day: dt.date) -> str:
    return f"<digest.{day:%Y%m%d}.{subscription_id}@lanyard.example>"


@pytest.fixture
def ledger(engine) -> Ledger:
    with engine.begin() as c:
        person = make_person(c, name="Ada Li", handle="ada")
        sid = make_subscription(c, person, email="ada@example.org")
        run_id = c.execute(db.digest_run.insert().values(
            list="daily", digest_date=DAY, status="finished", dry_run=False, planned=1, sent=1, skipped=0, failed=0,
            chunks_total=1, chunks_done=1, timings={}, notes="", created_at=NOW, started_at=NOW, finished_at=NOW,
        )).inserted_primary_key[0]
    return Ledger(engine, ReturnPath(ReturnPathSigner([TEST_SECRET]), DOMAIN), sid, run_id)


@pytest.fixture
def processor(engine, redis_client, ledger) -> FeedbackProcessor:
    return FeedbackProcessor(
        engine=engine, redis=redis_client, prefix=PREFIX, return_path=ledger.return_path,
        policy=FeedbackPolicy(soft_bounce_limit=3, soft_bounce_days=14),
    )
