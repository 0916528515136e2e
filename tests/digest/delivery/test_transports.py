"""Transports against a real SMTP server (aiosmtpd on loopback) and a real maildir."""

from __future__ import annotations

import mailbox
import ssl
import subprocess
from email import policy
from email.parser import BytesParser

import pytest
from aiosmtpd.smtp import AuthResult

from digest.config import parse_mail_url
from digest.delivery.transports import (
    DeliveryError,
    MaildirTransport,
    PermanentDeliveryError,
    SmtpTransport,
    TemporaryDeliveryError,
    make_transport,
)
from tests.smtp_server import SmtpTestServer

SENDER = "digest@lanyard.example.com"


def message(n: int = 1) -> bytes:
    return (
        f"From: lanyard <{SENDER}>\r\nTo: reader{n}@example.net\r\nSubject: digest {n}\r\n"
        f"Message-ID: <m{n}@lanyard.example.com>\r\n\r\nbody {n}\r\n.starts with a dot\r\n"
    ).encode()


def subjects(server) -> list[str]:
    return [received.parsed()["Subject"] for received in server.messages]


def test_smtp_delivers_many_messages_over_one_connection(smtp_server):
    transport = SmtpTransport(smtp_server.mail_url)
    try:
        for n in range(3):
            transport.send(sender=SENDER, recipient=f"reader{n}@example.net", message=message(n))
        connection = transport._connection
        transport.send(sender=SENDER, recipient="reader3@example.net", message=message(3))
        assert transport._connection is connection
    finally:
        transport.close()
    assert subjects(smtp_server) == ["digest 0", "digest 1", "digest 2", "digest 3"]
    assert smtp_server.messages[1].rcpt_tos == ("reader1@example.net",)
    assert smtp_server.messages[1].mail_from == SENDER
    assert smtp_server.messages[0].data.endswith(b"\r\n\r\nbody 0\r\n.starts with a dot\r\n")


@pytest.mark.parametrize("stage", ["rcpt", "data"])
def test_4xx_is_temporary_and_the_connection_goes_on(smtp_server, stage):
    transport = SmtpTransport(smtp_server.mail_url)
    smtp_server.fail_next(1, "451 4.7.1 Greylisted, try again later", stage=stage)
    with pytest.raises(TemporaryDeliveryError, match="451") as caught:
        transport.send(sender=SENDER, recipient="reader1@example.net", message=message(1))
    assert caught.value.code == 451
    assert not isinstance(caught.value, PermanentDeliveryError)
    transport.send(sender=SENDER, recipient="reader1@example.net", message=message(1))
    transport.close()
    assert subjects(smtp_server) == ["digest 1"]


@pytest.mark.parametrize("stage", ["rcpt", "data"])
def test_5xx_is_permanent_and_the_next_send_still_works(smtp_server, stage):
    transport = SmtpTransport(smtp_server.mail_url)
    if stage == "rcpt":
        smtp_server.refuse("gone@example.net", "550 5.1.1 <gone@example.net>: mailbox unavailable")
    else:
        smtp_server.fail_next(1, "554 5.7.1 Message refused", stage="data")
    with pytest.raises(PermanentDeliveryError, match="55[04]") as caught:
        transport.send(sender=SENDER, recipient="gone@example.net", message=message(1))
    assert caught.value.code in (550, 554)
    assert caught.value.recipient == "gone@example.net"
    transport.send(sender=SENDER, recipient="reader2@example.net", message=message(2))
    transport.close()
    assert subjects(smtp_server) == ["digest 2"]


def test_reconnects_after_the_server_drops_the_connection(smtp_server):
    transport = SmtpTransport(smtp_server.mail_url)
    transport.send(sender=SENDER, recipient="reader1@example.net", message=message(1))
    smtp_server.restart()  # closes the open connection
    transport.send(sender=SENDER, recipient="reader2@example.net", message=message(2))
    transport.close()
    assert subjects(smtp_server) == ["digest 1", "digest 2"]


def test_a_server_that_is_down_is_temporary_and_recovers(smtp_server):
    transport = SmtpTransport(smtp_server.mail_url)
    transport.send(sender=SENDER, recipient="reader1@example.net", message=message(1))
    smtp_server.stop()
    with pytest.raises(TemporaryDeliveryError, match=f"127.0.0.1:{smtp_server.port}"):
        transport.send(sender=SENDER, recipient="reader2@example.net", message=message(2))
    smtp_server.start()
    transport.send(sender=SENDER, recipient="reader2@example.net", message=message(2))
    transport.close()
    assert subjects(smtp_server) == ["digest 1", "digest 2"]


def test_a_refused_sender_is_an_operator_problem_not_a_bounce(smtp_server):
    transport = SmtpTransport(smtp_server.mail_url)

    async def refuse_sender(server, session, envelope, address, mail_options):
        return "553 5.7.1 Sender not allowed"

    smtp_server.handler.handle_MAIL = refuse_sender
    with pytest.raises(DeliveryError, match="553") as caught:
        transport.send(sender=SENDER, recipient="reader1@example.net", message=message(1))
    assert not isinstance(caught.value, (PermanentDeliveryError, TemporaryDeliveryError))
    transport.close()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem")],
        check=True, capture_output=True,
    )
    return folder / "cert.pem", folder / "key.pem"


def test_starttls_and_login(tls_files):
    cert, key = tls_files
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        ok = auth_data.login == b"lanyard" and auth_data.password == b"s3cret"
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd replies 535

    with SmtpTestServer(tls_context=server_context, authenticator=authenticator) as server:
        client_context = ssl.create_default_context(cafile=str(cert))
        good = parse_mail_url(f"smtp://lanyard:s3cret@127.0.0.1:{server.port}?starttls=true")
        transport = SmtpTransport(good, ssl_context=client_context)
        transport.send(sender=SENDER, recipient="reader1@example.net", message=message(1))
        transport.close()
        assert subjects(server) == ["digest 1"]
        assert logins == [(b"lanyard", b"s3cret")]

        bad = parse_mail_url(f"smtp://lanyard:wrong@127.0.0.1:{server.port}?starttls=true")
        with pytest.raises(DeliveryError, match="login as lanyard refused"):
            SmtpTransport(bad, ssl_context=client_context).send(
                sender=SENDER, recipient="reader1@example.net", message=message(1)
            )

        untrusted = SmtpTransport(good)  # the system trust store does not know the test certificate
        with pytest.raises(DeliveryError, match="TLS"):
            untrusted.send(sender=SENDER, recipient="reader1@example.net", message=message(1))


def test_maildir_messages_open_as_messages(tmp_path):
    transport = MaildirTransport(tmp_path / "outbox")
    for n in range(3):
        transport.send(sender=SENDER, recipient=f"reader{n}@example.net", message=message(n))
    transport.close()
    files = sorted((tmp_path / "outbox" / "new").iterdir())
    assert len(files) == 3
    assert not list((tmp_path / "outbox" / "tmp").iterdir())
    assert b"\r\n" not in files[0].read_bytes()
    parsed = [BytesParser(policy=policy.default).parsebytes(f.read_bytes()) for f in files]
    assert sorted(m["Subject"] for m in parsed) == ["digest 0", "digest 1", "digest 2"]
    box = mailbox.Maildir(tmp_path / "outbox", create=False)
    assert sorted(m["To"] for m in box) == ["reader0@example.net", "reader1@example.net", "reader2@example.net"]


def test_maildir_that_cannot_be_created_is_a_delivery_error(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(DeliveryError, match="cannot create the maildir outbox"):
        MaildirTransport(tmp_path / "file" / "outbox")


def test_make_transport_follows_the_mail_url(make_settings, smtp_server, tmp_path):
    maildir = make_transport(make_settings(mail_url=f"maildir://{tmp_path / 'out'}"))
    assert isinstance(maildir, MaildirTransport) and maildir.path == tmp_path / "out"
    smtp = make_transport(make_settings(mail_url=smtp_server.url))
    assert isinstance(smtp, SmtpTransport)
    smtp.send(sender=SENDER, recipient="reader1@example.net", message=message(1))
    smtp.close()
    assert subjects(smtp_server) == ["digest 1"]


def test_a_named_sender_goes_into_the_envelope_as_its_address(smtp_server):
    transport = SmtpTransport(smtp_server.mail_url)
    transport.send(sender=f"lanyard <{SENDER}>", recipient="reader1@example.net", message=message(1))
    transport.close()
    assert smtp_server.messages[0].mail_from == SENDER


def test_a_server_that_never_answers_times_out_as_temporary():
    import socket

    with socket.socket() as silent:  # accepts connections (backlog) but never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        transport = SmtpTransport(parse_mail_url(f"smtp://127.0.0.1:{port}?timeout=0.3"))
        with pytest.raises(TemporaryDeliveryError, match="cannot connect"):
            transport.send(sender=SENDER, recipient="reader1@example.net", message=message(1))


def test_421_at_mail_from_reconnects_and_delivers_once(smtp_server):
    answers = ["421 4.3.2 Shutting down, try another connection"]

    async def closing_once(server, session, envelope, address, mail_options):
        if answers:
            return answers.pop()
        envelope.mail_from = address
        return "250 OK"

    smtp_server.handler.handle_MAIL = closing_once  # aiosmtpd reads hooks per connection
    transport = SmtpTransport(smtp_server.mail_url)
    transport.send(sender=SENDER, recipient="reader1@example.net", message=message(1))
    transport.send(sender=SENDER, recipient="reader2@example.net", message=message(2))
    transport.close()
    assert not answers
    assert subjects(smtp_server) == ["digest 1", "digest 2"]
