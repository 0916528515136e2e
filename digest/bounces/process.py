"""From a report to a decision: match it to its delivery, record what it changes.

:meth:`FeedbackProcessor.process` takes one received message and either records it
(a ``delivery_feedback`` row, the delivery's ``feedback``, the subscription's status,
all in one transaction) or drops it, logged, with nothing changed:

* hard bounce (5.x.x): the subscription becomes ``bouncing`` at once (the next run skips
  it) and the delivery ``bounced``;
* soft bounce (4.x.x): counted; the subscription becomes ``bouncing`` once soft bounces
  of that many different digests arrived within that many days (the live settings
  ``soft_bounce_limit`` and ``soft_bounce_days``, read for each soft bounce);
* complaint: unsubscribed with an audit row ``via=complaint`` and put into the
  suppression set that a running batch checks before each send.

Dropped: anything that is not a report, a forged or foreign return path, a report
naming no message of ours, a report already recorded (its fingerprint is unique), a
delivery notice that reports no failure. A database error propagates, so the source
keeps the message and tries it again later.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy.exc
from redis import Redis
from sqlalchemy import Connection, Engine, select, update

from digest.bounces.classify import Verdict, classify
from digest.bounces.reports import NotAReport, Report, parse_report
from digest.bounces.values import Source
from digest.bounces.verp import ReturnPath
from digest.clock import utcnow
from digest.config import Settings
from digest.ops.live import OPS_DEFAULTS, stored_values
from digest.runs.finishing import run_retotal
from digest.runs.state import run_get
from digest.stores import db
from digest.subscriptions import subscription_suppress, subscription_unsubscribe_in
from digest.tokens import DeliveryRef, ReturnPathSigner, TokenError
from digest.vocabulary import (
    ACTIVE_RUN_STATUSES,
    ChangeVia,
    DeliveryStatus,
    FeedbackDecision,
    FeedbackKind,
    FeedbackMatch,
    SubscriptionStatus,
)

log = logging.getLogger("lanyard.bounces")

# A later report never downgrades what a delivery's row says came back.
_RANK = {"": 0, FeedbackKind.SOFT_BOUNCE: 1, FeedbackKind.HARD_BOUNCE: 2, FeedbackKind.COMPLAINT: 3}


@dataclass(frozen=True, slots=True)
class FeedbackPolicy:
    soft_bounce_limit: int = 3
    soft_bounce_days: int = 14

    @classmethod
    def live(cls, engine: Engine) -> FeedbackPolicy:
        """The operator's current values (``lanyard ops set soft_bounce_limit=5``)."""
        values = {**OPS_DEFAULTS, **stored_values(engine)}
        return cls(soft_bounce_limit=values["soft_bounce_limit"], soft_bounce_days=values["soft_bounce_days"])


@dataclass(frozen=True, slots=True)
class FeedbackOutcome:
    """``recorded`` False: dropped (``reason`` says why), nothing changed."""

    recorded: bool
    reason: str
    kind: FeedbackKind | None = None
    decision: FeedbackDecision | None = None
    subscription_id: int | None = None


@dataclass(frozen=True, slots=True)
class _Match:
    delivery_id: int
    run_id: int
    subscription_id: int
    status: str
    feedback: str
    matched_by: FeedbackMatch


class FeedbackProcessor:
    """Processes reports for one lanyard (its database, Redis, keys and bounce domain)."""

    def __init__(
        self, *, engine: Engine, redis: Redis, prefix: str, return_path: ReturnPath, policy: FeedbackPolicy | None
    ):
        self.engine = engine
        self.redis = redis
        self.prefix = prefix
        self.return_path = return_path
        self.policy = policy

    @classmethod
    def from_settings(cls, settings: Settings, *, engine: Engine, redis: Redis) -> FeedbackProcessor:
        return cls(
            engine=engine, redis=redis, prefix=settings.redis.prefix,
            return_path=ReturnPath(ReturnPathSigner(settings.secret_keys), settings.mail.bounce_domain),
            policy=None,  # the live settings, read for each soft bounce
        )

    def process(self, raw: bytes, *, source: Source, envelope_recipients: Sequence[str] = ()) -> FeedbackOutcome:
        """Record one received message, or drop it; see the module's docstring."""
        try:
            report = parse_report(raw)
        except NotAReport as error:
            return self._drop(source, f"not a report: {error}")
        verdict = classify(report)
        if verdict.kind is None:
            return self._drop(source, f"nothing to act on: {verdict.reason}")
        try:
            with self.engine.begin() as connection:
                match = self._match(connection, report, envelope_recipients)
                if isinstance(match, str):
                    return self._drop(source, match)
                if connection.execute(
                    select(db.delivery_feedback.c.id).where(db.delivery_feedback.c.fingerprint == report.fingerprint)
                ).first():
                    return self._drop(source, f"replayed: report {report.fingerprint[:12]} is recorded already")
                decision, detail = self._decide(connection, match, verdict)
                self._record(connection, match, report, verdict, _Record(source, decision, detail))
        except sqlalchemy.exc.IntegrityError:
            # Another process recorded the same report between our check and insert.
            return self._drop(source, f"replayed: report {report.fingerprint[:12]} is recorded already")
        if verdict.kind == FeedbackKind.COMPLAINT:
            self._suppress(match.subscription_id)
        if verdict.kind == FeedbackKind.HARD_BOUNCE and match.status == DeliveryStatus.SENT:
            self._recount(match.run_id)
        log.info(
            "%s report (%s): %s %s for subscription %d, delivery %d, matched by %s: %s",
            source, report.fingerprint[:12], verdict.kind, verdict.status_code, match.subscription_id,
            match.delivery_id, match.matched_by, detail,
        )
        return FeedbackOutcome(True, detail, verdict.kind, decision, match.subscription_id)

    # -- matching ----------------------------------------------------------------------

    def _match(self, connection: Connection, report: Report, envelope_recipients: Sequence[str]) -> _Match | str:
        """The delivery a report is about, or why none (a string)."""
        addresses = dict.fromkeys([a.strip().strip("<>").lower() for a in envelope_recipients] + list(report.addresses))
        refs: set[DeliveryRef] = set()
        for address in addresses:
            if not self.return_path.is_ours(address):
                continue
            try:
                refs.add(self.return_path.verify(address))
            except TokenError as error:
                return f"forged return path {address[:120]!r}: {error}"
        if len(refs) > 1:
            return "return paths naming different deliveries"
        d = db.delivery
        columns = (d.c.id, d.c.run_id, d.c.subscription_id, d.c.status, d.c.feedback)
        if refs:
            ref = refs.pop()
            row = connection.execute(
                select(*columns).where(d.c.subscription_id == ref.subscription_id, d.c.digest_date == ref.digest_date)
            ).first()
            if row is None:
                return (
                    f"unknown message: the return path names subscription {ref.subscription_id} "
                    f"on {ref.digest_date}, not in the ledger"
                )
            matched_by = FeedbackMatch.RETURN_PATH
        elif report.message_ids:
            rows = connection.execute(
                select(*columns).where(d.c.message_id.in_(report.message_ids[:20])).limit(2)
            ).all()
            if len(rows) != 1:
                named = ", ".join(report.message_ids[:3])[:200]
                return f"unknown message: {named} {'is' if not rows else 'are'} not one delivery of the ledger"
            row, matched_by = rows[0], FeedbackMatch.MESSAGE_ID
        else:
            return "unknown message: no return path of ours and no Message-ID quoted"
        if row.status == DeliveryStatus.SKIPPED:
            return f"unknown message: delivery {row.id} sent nothing ({row.status})"
        return _Match(row.id, row.run_id, row.subscription_id, row.status, row.feedback, matched_by)

    # -- deciding and recording ----------------------------------------------------------

    def _decide(self, connection: Connection, match: _Match, verdict: Verdict) -> tuple[FeedbackDecision, str]:
        s = db.subscription
        sid = match.subscription_id
        if verdict.kind == FeedbackKind.COMPLAINT:
            if subscription_unsubscribe_in(connection, subscription_id=sid, via=ChangeVia.COMPLAINT):
                return FeedbackDecision.UNSUBSCRIBED, "complaint: unsubscribed and suppressed"
            return FeedbackDecision.NO_CHANGE, "complaint: already unsubscribed; suppressed"
        if verdict.kind == FeedbackKind.SOFT_BOUNCE:
            f = db.delivery_feedback
            policy = self.policy or FeedbackPolicy.live(self.engine)
            since = utcnow() - dt.timedelta(days=policy.soft_bounce_days)
            earlier = set(
                connection.execute(
                    select(f.c.delivery_id).where(
                        f.c.subscription_id == sid, f.c.kind == FeedbackKind.SOFT_BOUNCE, f.c.received_at >= since
                    )
                ).scalars()
            )
            count = len(earlier | {match.delivery_id})
            limit, days = policy.soft_bounce_limit, policy.soft_bounce_days
            counted = f"soft bounce {verdict.status_code}: {count} of {limit} digests within {days} days"
            if count < limit:
                return FeedbackDecision.COUNTED, counted
        else:
            counted = f"hard bounce {verdict.status_code}"
        marked = connection.execute(
            update(s)
            .where(s.c.id == sid, s.c.status == SubscriptionStatus.ACTIVE)
            .values(status=SubscriptionStatus.BOUNCING, updated_at=utcnow())
        ).rowcount
        if marked:
            return FeedbackDecision.BOUNCING, f"{counted}: subscription marked bouncing"
        status = connection.execute(select(s.c.status).where(s.c.id == sid)).scalar()
        return FeedbackDecision.NO_CHANGE, f"{counted}: subscription is {status} already"

    def _record(self, connection: Connection, match: _Match, report: Report, verdict: Verdict, record: _Record) -> None:
        now = utcnow()
        connection.execute(db.delivery_feedback.insert().values(
            delivery_id=match.delivery_id, subscription_id=match.subscription_id, kind=verdict.kind,
            status_code=verdict.status_code[:16], diagnostic=verdict.diagnostic[:2000], matched_by=match.matched_by,
            source=record.source, decision=record.decision, detail=record.detail, fingerprint=report.fingerprint,
            received_at=now,
        ))
        values: dict = {}
        if verdict.kind is not None and _RANK[verdict.kind] >= _RANK.get(match.feedback or "", 0):
            values.update(feedback=verdict.kind, feedback_at=now)
        if verdict.kind == FeedbackKind.HARD_BOUNCE and match.status == DeliveryStatus.SENT:
            values.update(
                status=DeliveryStatus.BOUNCED,
                last_error=f"bounce report: {verdict.status_code} {verdict.diagnostic}"[:2000],
            )
        if values:
            connection.execute(update(db.delivery).where(db.delivery.c.id == match.delivery_id).values(**values))

    def _recount(self, run_id: int) -> None:
        """A sent delivery bounced: move it from its run's sent count to its bounced count.

        Only for a run that has ended: one still going totals its ledger when it finishes.
        """
        if run_get(self.engine, run_id=run_id)["status"] in ACTIVE_RUN_STATUSES:
            return
        run_retotal(self.engine, run_id=run_id, note="bounce reports came back after the run: lanyard runs show")

    def _suppress(self, subscription_id: int) -> None:
        try:
            subscription_suppress(self.redis, prefix=self.prefix, subscription_id=subscription_id)
        except Exception as error:  # the database has the unsubscribe; a run reads it when claiming
            log.error(
                "complaint for subscription %d: recorded, but the suppression set is unreachable: %s",
                subscription_id,
                error,
            )

    @staticmethod
    def _drop(source: Source, reason: str) -> FeedbackOutcome:
        log.warning("%s report dropped: %s", source, reason)
        return FeedbackOutcome(False, reason)


@dataclass(frozen=True, slots=True)
class _Record:
    source: Source
    decision: FeedbackDecision
    detail: str
