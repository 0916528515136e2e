"""Reports to decisions, on SQLite and PostgreSQL and real Redis: the corpus, the thresholds, bad input."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import select

from digest.bounces.values import Source
from digest.stores import db
from digest.stores.keys import RedisKeys
from digest.vocabulary import FeedbackDecision, FeedbackKind, FeedbackMatch
from tests.digest.bounces import corpus
from tests.digest.bounces.conftest import DAY, PREFIX, message_id

HARD_SHAPES = {"postfix": corpus.postfix_hard, "exim": corpus.exim_hard, "gmail": corpus.gmail}


def process(processor, raw, **options):
    return processor.process(raw, source=Source.MAILDIR, **options)


@pytest.mark.parametrize("shape", sorted(HARD_SHAPES))
def test_a_hard_bounce_of_each_shape_marks_the_subscription_bouncing(processor, ledger, shape):
    ref = ledger.deliver()
    outcome = process(
        processor, HARD_SHAPES[shape](to=ledger.address(ref), message_id=message_id(ref.subscription_id, DAY))
    )

    assert (
        outcome.recorded and outcome.kind == FeedbackKind.HARD_BOUNCE and outcome.decision == FeedbackDecision.BOUNCING
    )
    assert ledger.subscription().status == "bouncing"
    delivery = ledger.delivery(ref)
    assert (delivery.status, delivery.feedback) == ("bounced", "hard_bounce")
    assert delivery.last_error.startswith("bounce report: 5.")
    [row] = ledger.feedback()
    assert (row.kind, row.decision, row.matched_by, row.source) == ("hard_bounce", "bouncing", "return_path", "maildir")
    assert row.status_code.startswith("5.") and "5.1.1" in row.diagnostic


@pytest.mark.parametrize("shape", sorted({**HARD_SHAPES, "rfc3464": corpus.rfc3464_multiple}))
def test_without_a_return_path_the_quoted_message_id_finds_the_delivery(processor, ledger, shape):
    ref = ledger.deliver()
    build = {**HARD_SHAPES, "rfc3464": corpus.rfc3464_multiple}[shape]
    outcome = process(
        processor, build(to="postmaster@lanyard.example", message_id=message_id(ref.subscription_id, DAY))
    )

    assert outcome.recorded, outcome.reason
    [row] = ledger.feedback()
    assert row.matched_by == FeedbackMatch.MESSAGE_ID
    # RFC 3464's example fails one recipient with 4.0.0 (and delivered the other): soft.
    assert row.kind == ("soft_bounce" if shape == "rfc3464" else "hard_bounce")


def test_exim_returning_a_truncated_message_is_still_a_report(processor, ledger):
    ref = ledger.deliver()
    outcome = process(
        processor,
        corpus.exim_hard(to=ledger.address(ref), message_id=message_id(ref.subscription_id, DAY), truncated=True),
    )
    assert outcome.recorded and outcome.decision == FeedbackDecision.BOUNCING


def test_soft_bounces_count_per_digest_up_to_the_limit(processor, ledger):
    refs = [ledger.deliver(DAY + dt.timedelta(days=n)) for n in range(3)]
    first = process(
        processor,
        corpus.postfix_delayed(
            to=ledger.address(refs[0]), message_id=message_id(refs[0].subscription_id, refs[0].digest_date)
        ),
    )
    # Gmail's second warning about the same digest is another report but the same digest.
    again = process(
        processor, corpus.gmail(to=ledger.address(refs[0]), message_id="<x@y>", action="delayed", status="4.2.2")
    )
    second = process(
        processor, corpus.gmail(to=ledger.address(refs[1]), message_id="<x@y>", action="delayed", status="4.2.2")
    )
    assert [o.decision for o in (first, again, second)] == [FeedbackDecision.COUNTED] * 3
    assert "2 of 3 digests within 14 days" in second.reason
    assert ledger.subscription().status == "active"

    third = process(processor, corpus.postfix_delayed(to=ledger.address(refs[2]), message_id="<z@y>"))
    assert third.decision == FeedbackDecision.BOUNCING and "3 of 3" in third.reason
    assert ledger.subscription().status == "bouncing"
    assert [ledger.delivery(r).feedback for r in refs] == ["soft_bounce"] * 3
    assert [ledger.delivery(r).status for r in refs] == ["sent"] * 3  # soft: the messages were not refused for good


def test_soft_bounces_older_than_the_window_do_not_count(processor, ledger, engine):
    refs = [ledger.deliver(DAY + dt.timedelta(days=n)) for n in range(3)]
    for ref in refs[:2]:
        process(processor, corpus.postfix_delayed(to=ledger.address(ref), message_id="<a@b>"))
    f = db.delivery_feedback
    with engine.begin() as c:
        c.execute(f.update().values(received_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=15)))
    outcome = process(processor, corpus.postfix_delayed(to=ledger.address(refs[2]), message_id="<a@b>"))
    assert outcome.decision == FeedbackDecision.COUNTED and "1 of 3" in outcome.reason


@pytest.mark.parametrize("shape", ["arf", "yahoo"])
def test_a_complaint_unsubscribes_with_an_audit_row_and_suppresses_at_once(
    processor, ledger, redis_client, engine, shape
):
    ref = ledger.deliver()
    build = corpus.arf if shape == "arf" else corpus.yahoo_fbl
    outcome = process(processor, build(to=ledger.address(ref), message_id=message_id(ref.subscription_id, DAY)))

    # Checked right after the call returns: no waiting, nothing left for later.
    assert redis_client.sismember(RedisKeys(PREFIX).unsubscribe_suppressed, ref.subscription_id)
    assert outcome.decision == FeedbackDecision.UNSUBSCRIBED
    assert ledger.subscription().status == "unsubscribed"
    with engine.connect() as c:
        audit = c.execute(select(db.unsubscribe_event)).all()
    assert [(a.subscription_id, a.action, a.via) for a in audit] == [(ref.subscription_id, "unsubscribe", "complaint")]
    assert ledger.delivery(ref).feedback == "complaint"

    # A second complaint about another digest changes nothing more.
    other = ledger.deliver(DAY + dt.timedelta(days=1))
    again = process(processor, build(to=ledger.address(other), message_id="<n@m>"))
    assert again.decision == FeedbackDecision.NO_CHANGE
    with engine.connect() as c:
        assert c.execute(select(db.unsubscribe_event)).all() == audit


def test_a_hard_bounce_after_a_complaint_leaves_the_subscription_unsubscribed(processor, ledger):
    ref = ledger.deliver()
    process(processor, corpus.arf(to=ledger.address(ref), message_id="<a@b>"))
    outcome = process(processor, corpus.postfix_hard(to=ledger.address(ref), message_id="<a@b>"))
    assert outcome.decision == FeedbackDecision.NO_CHANGE and "unsubscribed already" in outcome.reason
    assert ledger.subscription().status == "unsubscribed"
    assert ledger.delivery(ref).feedback == "complaint"  # never downgraded


# -- bad input: logged, dropped, nothing changed -----------------------------------------------


def bad_inputs(ledger) -> dict[str, bytes]:
    ref = ledger.deliver()
    to, mid = ledger.address(ref), message_id(ref.subscription_id, DAY)
    good = corpus.postfix_hard(to=to, message_id=mid)
    boundary_at = good.index(b"Content-Description: Delivery report")
    return {
        "plain-text bounce": corpus.qmail_plain(to=to, message_id=mid),
        "not mail at all": b"\x00\xff" * 500,
        "empty": b"",
        "truncated MIME tree": good[: boundary_at - 10],
        "truncated inside the report part": good[: good.index(b"Action: failed")],
        "10 MB message": good + b"X" * (10 * 1024 * 1024),
        "unknown message (RFC 5965's own example)": corpus.arf(
            to="abuse@example.net",
            message_id="<8787KJKJ3K4J3K4J3K4J3.mail@example.net>",
            mail_from="somespammer@example.net",
        ),
        "unknown Message-ID, no return path": corpus.postfix_hard(
            to="postmaster@lanyard.example", message_id="<nope@lanyard.example>"
        ),
        "return path of a delivery not in the ledger": corpus.postfix_hard(
            to=ledger.address(type(ref)(ref.subscription_id, DAY + dt.timedelta(days=9))), message_id=mid
        ),
        "success notification": corpus.rfc3464_delivered(to=to, message_id=mid),
        "not-spam feedback": corpus.arf(to=to, message_id=mid, feedback_type="not-spam"),
        "report of another type": good.replace(b"report-type=delivery-status", b"report-type=disposition-notification"),
        "report without a status part": good.replace(b"message/delivery-status", b"text/plain"),
        "foreign signature": corpus.postfix_hard(to=to.replace(to.split(".")[2][:24], "a" * 24), message_id=mid),
    }


def test_bad_input_is_dropped_and_changes_nothing(processor, ledger, redis_client, caplog):
    inputs = bad_inputs(ledger)
    before = ledger.snapshot(redis_client)
    for name, raw in inputs.items():
        outcome = process(processor, raw)
        assert not outcome.recorded, name
        assert outcome.reason, name
    assert ledger.snapshot(redis_client) == before
    dropped = [r for r in caplog.records if "report dropped" in r.getMessage()]
    assert len(dropped) == len(inputs)
    assert any("too large" in r.getMessage() for r in dropped)
    assert any("damaged MIME tree" in r.getMessage() for r in dropped)
    assert any("forged return path" in r.getMessage() for r in dropped)


def test_a_replayed_report_is_recorded_once(processor, ledger, redis_client):
    ref = ledger.deliver()
    raw = corpus.postfix_delayed(to=ledger.address(ref), message_id="<a@b>")
    assert process(processor, raw).recorded
    after_first = ledger.snapshot(redis_client)
    # The same report again, and once more as a relay re-delivers it (a new Received line).
    replays = [raw, b"Received: from relay.example.net by mx.lanyard.example; Tue, 1 Dec 2026 08:00:00 +0000\r\n" + raw]
    outcomes = [process(processor, r) for r in replays]
    assert [o.recorded for o in outcomes] == [False, False]
    assert all(o.reason.startswith("replayed") for o in outcomes)
    assert ledger.snapshot(redis_client) == after_first


def test_a_thousand_tampered_return_paths_change_nothing(processor, ledger, redis_client):
    ref = ledger.deliver()
    address = ledger.address(ref)
    local, domain = address.split("@")
    token = local.removeprefix("bounces+")
    rng = random.Random(15)
    alphabet = "abcdefghijklmnopqrstuvwxyz234567.0123456789+-_=/"
    tampered: set[str] = set()
    while len(tampered) < 1000:
        chars = list(token)
        how = rng.randrange(5)
        position = rng.randrange(len(chars))
        if how == 0:
            chars[position] = rng.choice(alphabet)
        elif how == 1:
            del chars[position]
        elif how == 2:
            chars.insert(position, rng.choice(alphabet))
        elif how == 3:
            chars[position], chars[-1 - position] = chars[-1 - position], chars[position]
        else:  # another subscription or date with the old signature
            sid, day, mac = token.split(".")
            chars = list(
                f"{int(sid) + rng.randrange(1, 99)}.{day}.{mac}"
                if rng.random() < 0.5
                else f"{sid}.2026{rng.randrange(1000, 1231)}.{mac}"
            )
        variant = "".join(chars)
        if variant.lower() != token:
            tampered.add(variant)
    before = ledger.snapshot(redis_client)
    outcomes = [
        process(
            processor,
            corpus.postfix_hard(to=f"bounces+{variant}@{domain}", message_id=message_id(ref.subscription_id, DAY)),
        )
        for variant in sorted(tampered)
    ]
    assert not any(o.recorded for o in outcomes)
    assert all(o.reason.startswith("forged return path") for o in outcomes)
    assert ledger.snapshot(redis_client) == before
    # Case folding by a mail server is not tampering: the same delivery.
    assert process(processor, corpus.postfix_hard(to=address.upper(), message_id="<a@b>")).recorded


def test_a_return_path_of_another_domain_is_not_ours(processor, ledger, redis_client):
    """A bounces+ address at some other domain is not read as a token (and so not forged):
    the quoted Message-ID decides."""
    ref = ledger.deliver()
    outcome = process(processor, corpus.postfix_hard(to="bounces+1.20261201.aaaa@elsewhere.example",
                                                     message_id=message_id(ref.subscription_id, DAY)))
    assert outcome.recorded and ledger.feedback()[0].matched_by == FeedbackMatch.MESSAGE_ID


def test_mangled_reports_never_raise(processor, ledger, redis_client):
    """Bytes flipped, NULs and 8-bit garbage inserted, cut anywhere: each one is recorded
    or dropped with a reason, never an exception (which would stop a mailbox pass)."""
    ref = ledger.deliver()
    to, mid = ledger.address(ref), message_id(ref.subscription_id, DAY)
    originals = [
        build(to=to, message_id=mid) for build in (corpus.postfix_hard, corpus.gmail, corpus.arf, corpus.exim_hard)
    ]
    rng = random.Random(3464)
    for n in range(200):
        raw = bytearray(rng.choice(originals))
        for _ in range(rng.randrange(1, 20)):
            at = rng.randrange(len(raw))
            how = rng.randrange(4)
            if how == 0:
                raw[at] = rng.randrange(256)
            elif how == 1:
                raw[at:at] = rng.choice(
                    [b"\x00", b"\xff\xfe", b"\r\n\r\n", b"--", b"=?x-unknown?q?=FF?=", b';charset="x-nope"']
                )
            elif how == 2:
                del raw[at:at + rng.randrange(1, 200)]
            else:
                raw = raw[:at] if at > 100 else raw
            if not raw:
                break
        outcome = process(processor, bytes(raw))
        assert outcome.reason, n
    # Whatever was recorded names the one delivery there is.
    assert {row.delivery_id for row in ledger.feedback()} <= {ledger.delivery(ref).id}


def test_eight_bit_garbage_in_a_report_is_stored_readably(processor, ledger):
    ref = ledger.deliver()
    raw = corpus.postfix_hard(to=ledger.address(ref), message_id="<a@b>").replace(
        b"User unknown in virtual mailbox table\r\n\r\n--", b"User unknown \xff\xfe\x00 caf\xc3\xa9\r\n\r\n--", 1)
    outcome = process(processor, raw)
    assert outcome.recorded
    [row] = ledger.feedback()
    assert "\x00" not in row.diagnostic and "café" in row.diagnostic and "\ufffd" in row.diagnostic


def test_the_soft_bounce_limit_is_a_live_setting(engine, redis_client, ledger):
    """Without a fixed policy the processor reads the operator's live settings at each soft bounce."""
    from digest.bounces.process import FeedbackProcessor
    from digest.ops.live import OpsSettingGroup, Registry

    live = FeedbackProcessor(
        engine=engine, redis=redis_client, prefix=PREFIX, return_path=ledger.return_path, policy=None
    )
    first = ledger.deliver()
    outcome = process(live, corpus.postfix_delayed(to=ledger.address(first), message_id="<a@b>"))
    assert "1 of 3 digests within 14 days" in outcome.reason
    Registry([OpsSettingGroup(redis_client, prefix=PREFIX)]).set(
        engine, {"soft_bounce_limit": "2", "soft_bounce_days": "30"}, changed_by="test", via="cli")
    second = ledger.deliver(DAY + dt.timedelta(days=1))
    outcome = process(live, corpus.postfix_delayed(to=ledger.address(second), message_id="<c@d>"))
    assert outcome.decision == FeedbackDecision.BOUNCING and "2 of 2 digests within 30 days" in outcome.reason
