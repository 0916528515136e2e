"""Reports arriving for real: over SMTP to the listener (aiosmtpd), in a maildir, in an IMAP
mailbox (Dovecot); the digests they answer sent by the real pipeline."""

from __future__ import annotations

import datetime as dt
import os
import signal
import smtplib
import subprocess
import sys
import time
import types

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from digest.bounces.listener import make_listener
from digest.bounces.sources import MailboxError, parse_mailbox_url, process_imap, process_maildir
from digest.graph.store import Graph
from digest.graph.sync import rebuild
from digest.nightly.batch import work_here
from digest.nightly.pipeline import Pipeline
from digest.runs.finishing import FinishPolicy, run_finish
from digest.runs.planning import RunRequest, run_plan
from digest.runs.progress import run_progress
from digest.stores import db
from digest.stores.keys import RedisKeys
from lanyard_cli.main import cli
from tests.conftest import REDIS_URL, TEST_SECRET
from tests.digest.bounces import corpus
from tests.digest.bounces.conftest import DAY, DOMAIN, PREFIX, message_id
from tests.factories import make_attendance, make_event, make_follow, make_person, make_subscription
from tests.imap_server import DovecotServer, free_port


@pytest.fixture
def world(engine, redis_client, ledger):
    """The ledger's subscriber (ada) follows bob, who speaks at PyCon Lisbon; so does cy's."""
    with engine.begin() as c:
        bob = make_person(c, name="Bob Ng", handle="bob")
        cy = make_person(c, name="Cy Ito", handle="cy")
        ada = c.execute(
            select(db.subscription.c.person_id).where(db.subscription.c.id == ledger.subscription_id)
        ).scalar()
        for follower in (ada, cy):
            make_follow(c, follower, bob)
        conf = make_event(c, DAY + dt.timedelta(days=5), name="PyCon Lisbon", slug="pycon-lisbon")
        make_attendance(c, bob, conf, "speaking")
        cy_sub = make_subscription(c, cy, email="cy@example.org")
    rebuild(Graph(redis_client, PREFIX), engine)
    return {"ada": ledger.subscription_id, "cy": cy_sub, "conf": conf}


def run(engine, pipeline, day):
    plan = run_plan(engine, RunRequest(digest_date=day))
    for chunk_id in plan.chunk_ids:
        work_here(pipeline, chunk_id=chunk_id, timeout=dt.timedelta(minutes=10))
    return plan, run_finish(
        engine, run_id=plan.run_id, policy=FinishPolicy(stale_after=dt.timedelta(0), max_attempts=0)
    ).summary


@pytest.fixture
def smtp_settings(make_settings, database_url, smtp_server):
    return make_settings(database_url=database_url, mail_url=smtp_server.url, redis_prefix=PREFIX, bounce_domain=DOMAIN)


@pytest.fixture
def listener(smtp_settings, engine, redis_client):
    from digest.bounces.process import FeedbackProcessor

    processor = FeedbackProcessor.from_settings(smtp_settings, engine=engine, redis=redis_client)
    controller = make_listener(processor, host="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


def send_report(listener, raw: bytes, to: str) -> tuple[int, bytes]:
    with smtplib.SMTP(listener.hostname, listener.port, timeout=30) as client:
        client.ehlo()
        client.mail("<>")
        code, reply = client.rcpt(to)
        if code >= 400:
            return code, reply
        try:
            return client.data(raw)
        except smtplib.SMTPDataError as error:
            return error.smtp_code, error.smtp_error


def test_a_hard_bounce_over_smtp_marks_bouncing_and_the_next_run_skips_it(
    smtp_settings, engine, redis_client, smtp_server, world, listener
):
    pipeline = Pipeline(smtp_settings, engine=engine, redis=redis_client)
    try:
        plan, summary = run(engine, pipeline, DAY)
        assert summary.sent == 2
        by_recipient = {m.rcpt_tos[0]: m for m in smtp_server.messages}
        return_path = by_recipient["ada@example.org"].mail_from
        assert (
            return_path.startswith("bounces+")
            and return_path.endswith(f"@{DOMAIN}")
            and len(return_path.split("@")[0]) <= 64
        )
        assert by_recipient["cy@example.org"].mail_from != return_path  # one per delivery

        code, reply = send_report(
            listener, corpus.postfix_hard(to=return_path, message_id=message_id(world["ada"], DAY)), return_path
        )
        assert code == 250 and b"recorded" in reply
        s = db.subscription
        with engine.connect() as c:
            assert c.execute(select(s.c.status).where(s.c.id == world["ada"])).scalar() == "bouncing"
        progress = run_progress(engine, run_id=plan.run_id)
        assert (progress.sent, progress.bounced) == (1, 1)
        with engine.connect() as c:
            row = c.execute(select(db.digest_run).where(db.digest_run.c.id == plan.run_id)).one()
        assert (row.sent, row.bounced) == (1, 1) and "bounce reports came back after the run" in row.notes

        # The next day: a new event, so cy gets a digest; ada, bouncing, is not even planned.
        with engine.begin() as c:
            bob = c.execute(select(db.person.c.id).where(db.person.c.handle == "bob")).scalar()
            make_attendance(
                c, bob, make_event(c, DAY + dt.timedelta(days=20), name="Redis Day", slug="redis-day"), "attending"
            )
        rebuild(Graph(redis_client, PREFIX), engine)
        next_plan, next_summary = run(engine, pipeline, DAY + dt.timedelta(days=1))
        assert next_plan.planned == 1 and next_summary.sent == 1
        assert [m.rcpt_tos for m in smtp_server.messages[2:]] == [("cy@example.org",)]
    finally:
        pipeline.close()


def test_a_complaint_over_smtp_suppresses_before_the_reply(
    smtp_settings, engine, redis_client, smtp_server, world, listener
):
    pipeline = Pipeline(smtp_settings, engine=engine, redis=redis_client)
    try:
        run(engine, pipeline, DAY)
    finally:
        pipeline.close()
    return_path = next(m.mail_from for m in smtp_server.messages if m.rcpt_tos == ("cy@example.org",))
    code, _ = send_report(
        listener, corpus.arf(to=return_path, message_id="<x@y>", recipient="cy@example.org"), "fbl@" + DOMAIN
    )
    assert code == 250
    # By the time the server has answered, the running batch would already skip cy.
    assert redis_client.sismember(RedisKeys(PREFIX).unsubscribe_suppressed, world["cy"])
    with engine.connect() as c:
        assert (
            c.execute(select(db.subscription.c.status).where(db.subscription.c.id == world["cy"])).scalar()
            == "unsubscribed"
        )


def test_the_listener_refuses_other_domains_and_oversized_messages(listener, ledger, redis_client):
    before = ledger.snapshot(redis_client)
    ref = ledger.deliver()
    after_delivery = ledger.snapshot(redis_client)
    code, _ = send_report(listener, b"Subject: x\r\n\r\nx\r\n", "someone@elsewhere.example")
    assert code == 550
    huge = (
        corpus.postfix_hard(to=ledger.address(ref), message_id="<a@b>")
        + b"X" * 76 * 2
        + (b"X" * 76 + b"\r\n") * 140_000
    )
    code, _ = send_report(listener, huge, ledger.address(ref))
    assert code == 552
    code, reply = send_report(listener, b"Subject: hello\r\n\r\nnot a report\r\n", "bounces+x@" + DOMAIN)
    assert code == 250 and b"received" in reply  # dropped, but never bounced back
    assert ledger.snapshot(redis_client) == after_delivery != before


def test_a_database_outage_asks_the_sender_to_retry(make_settings, redis_client, ledger):
    """The listener answers 451 when it cannot record: the report stays with the sender."""
    from digest.bounces.process import FeedbackProcessor

    down = make_settings(
        database_url=f"postgresql://nobody@127.0.0.1:{free_port()}/none", redis_prefix=PREFIX, bounce_domain=DOMAIN
    )
    engine = db.make_engine(down.database.primary)
    processor = FeedbackProcessor.from_settings(down, engine=engine, redis=redis_client)
    controller = make_listener(processor, host="127.0.0.1", port=free_port())
    controller.start()
    try:
        code, _ = send_report(controller, corpus.postfix_hard(to=ledger.address(ledger.deliver()), message_id="<a@b>"),
                              "bounces+x@" + DOMAIN)
    finally:
        controller.stop()
        engine.dispose()
    assert code == 451


# -- maildir ---------------------------------------------------------------------------------


def write_maildir(path, messages: list[bytes]) -> None:
    for folder in ("new", "cur", "tmp"):
        (path / folder).mkdir(parents=True, exist_ok=True)
    for n, raw in enumerate(messages):
        (path / "new" / f"1764572405.M{n}P1.mx").write_bytes(raw)


def test_lanyard_bounces_process_reads_a_maildir_once(
    monkeypatch, settings, database_url, tmp_path, ledger, redis_client, engine
):
    for name, value in {
        "LANYARD_DATABASE_URL": database_url,
        "LANYARD_REDIS_URL": REDIS_URL,
        "LANYARD_REDIS_PREFIX": PREFIX,
        "LANYARD_DATA_DIR": str(tmp_path / "var"),
        "LANYARD_SECRET_KEYS": TEST_SECRET,
        "LANYARD_BOUNCE_DOMAIN": DOMAIN,
    }.items():
        monkeypatch.setenv(name, value)
    hard, soft = ledger.deliver(), ledger.deliver(DAY + dt.timedelta(days=1))
    box = tmp_path / "bounces"
    write_maildir(box, [
        corpus.postfix_hard(to=ledger.address(hard), message_id="<a@b>"),
        corpus.postfix_delayed(to=ledger.address(soft), message_id="<c@d>"),
        corpus.qmail_plain(to=ledger.address(hard), message_id="<a@b>"),
    ])
    (box / "cur" / "1764572400.M9P1.mx:2,S").write_bytes(
        corpus.arf(to=ledger.address(hard), message_id="<a@b>")
    )  # seen: skipped

    result = CliRunner().invoke(cli, ["bounces", "process", "--from", f"maildir://{box}"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "read 3 message(s): 2 recorded, 1 dropped" in result.output
    assert "hard_bounce: bouncing: 1" in result.output and "soft_bounce: counted: 1" in result.output
    assert "dropped, not a report: 1" in result.output
    assert os.listdir(box / "new") == []
    assert sorted(os.listdir(box / "cur")) == sorted(
        ["1764572400.M9P1.mx:2,S"] + [f"1764572405.M{n}P1.mx:2,S" for n in range(3)]
    )
    assert ledger.subscription().status == "bouncing"
    assert (
        run_plan(engine, RunRequest(digest_date=DAY + dt.timedelta(days=2), dry_run=True)).planned == 0
    )  # the next run skips it

    again = CliRunner().invoke(cli, ["bounces", "process", "--from", f"maildir://{box}"], catch_exceptions=False)
    assert "read 0 message(s)" in again.output

    shown = CliRunner().invoke(cli, ["runs", "show", str(ledger.run_id)], catch_exceptions=False)
    assert "sent 1, skipped 0, failed 0, bounced 1" in shown.output
    assert "reports since: 1 hard bounced, 1 soft bounced, 0 complained" in shown.output


def test_maildir_errors_are_one_line(tmp_path, processor):
    with pytest.raises(MailboxError, match="not a maildir"):
        process_maildir(processor, tmp_path / "missing")
    for bad in ("maildir://", "pop3://host/", "imaps://host/INBOX", "imaps://u:p@host:notaport/"):
        with pytest.raises(ValueError):
            parse_mailbox_url(bad)
    assert parse_mailbox_url("imaps://fbl:p%40ss@mail.example/Bounces").password == "p@ss"


# -- IMAP (Dovecot) --------------------------------------------------------------------------


@pytest.fixture
def imap():
    with DovecotServer() as server:
        yield server


def test_imap_over_tls_records_unseen_reports_and_marks_them_seen(imap, processor, ledger, redis_client):
    hard, complained = ledger.deliver(), ledger.deliver(DAY + dt.timedelta(days=1))
    imap.append(corpus.gmail(to=ledger.address(hard), message_id="<a@b>"))
    imap.append(corpus.arf(to=ledger.address(complained), message_id="<c@d>"))
    imap.append(b"Subject: hello\r\n\r\nnot a report\r\n")

    totals = process_imap(processor, parse_mailbox_url(imap.url(tls=True)), ssl_context=imap.ssl_context)
    assert (totals.read, totals.recorded, totals.dropped) == (3, 2, 1)
    assert all(b"\\Seen" in flags for flags in imap.flags())
    assert ledger.subscription().status == "unsubscribed"  # the complaint wins over the earlier hard bounce
    assert redis_client.sismember(RedisKeys(PREFIX).unsubscribe_suppressed, ledger.subscription_id)

    imap.append(corpus.postfix_delayed(to=ledger.address(hard), message_id="<a@b>"))
    again = process_imap(processor, parse_mailbox_url(imap.url(tls=True)), ssl_context=imap.ssl_context)
    assert (again.read, again.recorded) == (1, 1)


def test_imap_mistakes_are_one_line(imap, processor):
    with pytest.raises(MailboxError, match="refused the login"):
        process_imap(processor, parse_mailbox_url(imap.url(tls=False, password="wrong")))
    with pytest.raises(MailboxError, match="no folder"):
        process_imap(processor, parse_mailbox_url(imap.url(tls=False, folder="Nope")))
    with pytest.raises(MailboxError, match="cannot connect"):
        process_imap(processor, parse_mailbox_url(f"imap://u:p@127.0.0.1:{free_port()}/INBOX"))
    # The system's trust store does not know the test certificate: refused, not ignored.
    with pytest.raises(MailboxError):
        process_imap(processor, parse_mailbox_url(imap.url(tls=True)))


def test_lanyard_bounces_serve_records_and_stops_on_sigterm(database_url, tmp_path, ledger, redis_client):
    port = free_port()
    env = {
        **os.environ,
        "LANYARD_DATABASE_URL": database_url,
        "LANYARD_REDIS_URL": REDIS_URL,
        "LANYARD_REDIS_PREFIX": PREFIX,
        "LANYARD_DATA_DIR": str(tmp_path / "var"),
        "LANYARD_SECRET_KEYS": TEST_SECRET,
        "LANYARD_BOUNCE_DOMAIN": DOMAIN,
    }
    server = subprocess.Popen([sys.executable, "-m", "lanyard_cli", "bounces", "serve", "--port", str(port)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                smtplib.SMTP("127.0.0.1", port, timeout=5).quit()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "the listener did not start"
                time.sleep(0.2)
        ref = ledger.deliver()
        listener = types.SimpleNamespace(hostname="127.0.0.1", port=port)
        code, _ = send_report(listener, corpus.gmail(to=ledger.address(ref), message_id="<a@b>"), ledger.address(ref))
        assert code == 250
        assert ledger.subscription().status == "bouncing"
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=60)[0].decode()
    assert server.returncode == 0, output
    assert "taking reports for bounces.lanyard.example" in output and "stopped" in output
