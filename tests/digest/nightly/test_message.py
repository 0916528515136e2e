"""The MIME message: parses with Python's email package, carries every header, DKIM verifies."""

from __future__ import annotations

import base64
import datetime as dt
import subprocess
from email import policy
from email.parser import BytesParser

import dkim
import pytest

from digest.config import ConfigError
from digest.delivery.transports import MaildirTransport, SmtpTransport
from digest.nightly.message import (
    DkimSigner,
    ListHeaders,
    MessageError,
    build_message,
    encode_header,
    make_list_id,
    make_message_id,
    sender_domain,
)
from digest.nightly.render import Renderer
from digest.values import DigestItem
from tests.digest.nightly import sample_digests as samples
from tests.digest.nightly.sample_digests import ADA, event, make_digest, person

SENDER = "lanyard <digest@lanyard.example.com>"
DOMAIN = "lanyard.example.com"
MAILTO = "mailto:unsubscribe@lanyard.example.com?subject=unsubscribe-TOKEN123.sig"
DATE = dt.datetime(2026, 3, 2, 7, 30, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def renderer():
    return Renderer(base_url=samples.BASE)


def build(renderer, digest, **overrides):
    rendered = renderer.render(digest)
    headers = dict(
        list_id=make_list_id(list_name=digest.list_name, domain=DOMAIN),
        unsubscribe_url=digest.unsubscribe_url,
        unsubscribe_mailto=MAILTO,
        feedback_id=f"{digest.list_name}:digest:lanyard",
        message_id=make_message_id(
            subscription_id=digest.subscription_id, digest_date=digest.digest_date, domain=DOMAIN
        ),
    )
    options = dict(rendered=rendered, digest=digest, sender=SENDER, date=DATE)
    for name, value in overrides.items():
        (headers if name in headers else options)[name] = value
    return rendered, build_message(headers=ListHeaders(**headers), **options)


def parse(data: bytes):
    return BytesParser(policy=policy.default).parsebytes(data)


def unicode_digest():
    zoe = person(7, "Zoë Ünïcode-Ñandú 李小龙")
    long_name = "Conférence Internationale sur les Systèmes Répartis et le Génie Logiciel Appliqué 2026"
    return make_digest(
        [DigestItem(event(1, long_name, city="Zürich", country="Schweiz"), speakers=(zoe,), attendees=(ADA,))],
        more_count=3,
        recipient=person(8, "Ørjan Æsøy"),
        email="orjan@example.no",
    )


SAMPLES = {
    "rich": samples.rich_digest,
    "single": samples.single_digest,
    "hostile": samples.hostile_digest,
    "unicode": unicode_digest,
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_both_parts_decode_back_exactly(renderer, name):
    digest = SAMPLES[name]()
    rendered, data = build(renderer, digest)
    message = parse(data)
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.get_payload()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert text.get_content_charset() == html.get_content_charset() == "utf-8"
    assert message.get_body(("plain",)) is text and message.get_body(("html",)) is html
    # On the wire lines end in CRLF; the parsed parts keep them, so compare with LF.
    expected_text = rendered.text.replace("\r\n", "\n").replace("\r", "\n")
    assert text.get_content().replace("\r\n", "\n") == expected_text
    expected_html = rendered.html.replace("\r\n", "\n").replace("\r", "\n")
    assert html.get_content().replace("\r\n", "\n") == expected_html
    assert message.defects == [] and text.defects == [] and html.defects == []


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_header_is_there(renderer, name):
    digest = SAMPLES[name]()
    rendered, data = build(renderer, digest)
    assert data.isascii()
    head = data.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 78 for line in head.split(b"\r\n")), head
    message = parse(data)
    assert str(message["From"]) == "lanyard <digest@lanyard.example.com>"
    assert message["To"].addresses[0].addr_spec == digest.email
    assert message["To"].addresses[0].display_name == " ".join(digest.recipient.name.split())
    assert message["Subject"] == rendered.subject
    assert message["Date"].datetime == DATE
    assert message["Message-ID"] == f"<digest.20260302.{digest.subscription_id}@lanyard.example.com>"
    assert message["List-Id"] == f"lanyard {digest.list_name} digest <{digest.list_name}.digest.lanyard.example.com>"
    assert message["List-Unsubscribe"] == f"<{digest.unsubscribe_url}>, <{MAILTO}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Precedence"] == "bulk"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Feedback-ID"] == f"{digest.list_name}:digest:lanyard"
    assert message["MIME-Version"] == "1.0"


def test_hostile_names_cannot_add_headers(renderer):
    _, data = build(renderer, samples.hostile_digest())
    message = parse(data)
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert len(message.get_all("To")) == 1
    assert message["To"].addresses[0].addr_spec == "barbara@example.net"


def test_unicode_subject_and_names_use_encoded_words(renderer):
    rendered, data = build(renderer, unicode_digest())
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert rendered.subject == "Zoë Ünïcode-Ñandú 李小龙 and 1 other are going to Conférence… (+3 more)"
    # Word by word: the ASCII words stay readable, only the others are encoded words.
    assert "Subject: =?utf-8?q?Zo=C3=AB_?=" in head and "and 1 other are going to" in head
    assert parse(data)["Subject"] == rendered.subject
    assert parse(data)["To"].addresses[0].display_name == "Ørjan Æsøy"


@pytest.mark.parametrize(
    "value",
    [
        "short",
        "x" * 200,
        " ".join(["word"] * 60),
        "é" * 100,
        "mixed ümlauts and a rather long tail " * 5,
        "=?utf-8?q?looks_encoded?=",
    ],
)
def test_encode_header_round_trips(value):
    encoded = encode_header(value, len("Subject: "))
    assert encoded.isascii()
    # Lines fold at 78 characters; only a word too long for any line stays whole.
    assert all(len(line) <= 78 or len(line.split()[-1]) > 70 for line in ("Subject: " + encoded).split("\r\n"))
    message = parse(f"Subject: {encoded}\r\n\r\n".encode())
    assert message["Subject"] == " ".join(value.split())  # whitespace runs collapse, as in any header


def test_bad_values_are_refused(renderer):
    digest = samples.single_digest()
    with pytest.raises(MessageError, match="not an absolute"):
        build(renderer, digest, unsubscribe_url="/u/TOKEN")
    with pytest.raises(MessageError, match="mailto"):
        build(renderer, digest, unsubscribe_mailto="https://example.com")
    with pytest.raises(MessageError, match="To address"):
        build(renderer, make_digest(digest.new_items, email="two@at@example.com"))
    with pytest.raises(MessageError, match="To address"):
        build(renderer, make_digest(digest.new_items, email="x@example.com>\r\nBcc: y@example.com"))
    with pytest.raises(MessageError, match="sender"):
        build(renderer, digest, sender="nobody")


def test_without_a_mailto_the_header_has_the_https_link_only(renderer):
    digest = samples.single_digest()
    _, data = build(renderer, digest, unsubscribe_mailto="")
    assert parse(data)["List-Unsubscribe"] == f"<{digest.unsubscribe_url}>"


def test_message_ids_are_deterministic_per_subscription_and_date():
    one = make_message_id(subscription_id=1, digest_date=dt.date(2026, 3, 2), domain=DOMAIN)
    assert one == make_message_id(subscription_id=1, digest_date=dt.date(2026, 3, 2), domain=DOMAIN)
    others = {make_message_id(subscription_id=2, digest_date=dt.date(2026, 3, 2), domain=DOMAIN),
              make_message_id(subscription_id=1, digest_date=dt.date(2026, 3, 3), domain=DOMAIN)}
    assert one not in others and len(others) == 2
    assert parse(f"Message-ID: {one}\r\n\r\n".encode())["Message-ID"] == one
    assert sender_domain(SENDER) == DOMAIN


def test_the_message_survives_smtp_and_maildir(renderer, smtp_server, tmp_path):
    digest = samples.rich_digest()
    rendered, data = build(renderer, digest)
    transport = SmtpTransport(smtp_server.mail_url)
    transport.send(sender="digest@lanyard.example.com", recipient=digest.email, message=data)
    transport.close()
    MaildirTransport(tmp_path).send(sender="digest@lanyard.example.com", recipient=digest.email, message=data)
    on_disk = parse(next((tmp_path / "new").iterdir()).read_bytes())
    for message in (smtp_server.messages[0].parsed(), on_disk):
        assert message["Subject"] == rendered.subject
        assert message.get_body(("plain",)).get_content().replace("\r\n", "\n") == rendered.text
        assert message.get_body(("html",)).get_content().replace("\r\n", "\n") == rendered.html
    assert on_disk.get_body(("plain",)).get_content() == rendered.text  # LF on disk: exact


@pytest.fixture(scope="module")
def dkim_key(tmp_path_factory):
    """An RSA key pair made with openssl, and the DNS TXT record publishing it."""
    folder = tmp_path_factory.mktemp("dkim")
    key = folder / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"], check=True, capture_output=True
    ).stdout
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    return key, record


def dns(record):
    def lookup(name, timeout=5):
        return record if name == b"lanyard2026._domainkey.lanyard.example.com." else None
    return lookup


def test_dkim_signature_verifies_and_covers_the_list_headers(renderer, dkim_key):
    key, record = dkim_key
    signer = DkimSigner(selector="lanyard2026", domain=DOMAIN, private_key_pem=key.read_bytes())
    _, data = build(renderer, samples.hostile_digest(), dkim=signer)
    assert data.startswith(b"DKIM-Signature: ")
    assert dkim.verify(data, dnsfunc=dns(record))
    signature = parse(data)["DKIM-Signature"]
    signed = {h.strip().lower() for h in signature.split("h=")[1].split(";")[0].replace("\r\n", "").split(":")}
    assert {"from", "to", "subject", "date", "message-id", "list-unsubscribe", "list-unsubscribe-post"} <= signed
    tampered = data.replace(
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"List-Unsubscribe-Post: List-Unsubscribe=Two-Click"
    )
    assert not dkim.verify(tampered, dnsfunc=dns(record))


def test_dkim_from_settings(make_settings, dkim_key, tmp_path, renderer):
    key, record = dkim_key
    assert make_settings().mail.dkim is None
    assert DkimSigner.from_settings(make_settings()) is None
    settings = make_settings(dkim_selector="lanyard2026", dkim_domain=DOMAIN, dkim_key_file=key)
    assert settings.mail.dkim.selector == "lanyard2026" and settings.mail.dkim.key_file == key
    assert "BEGIN" not in repr(settings)
    signer = DkimSigner.from_settings(settings)
    _, data = build(renderer, samples.single_digest(), dkim=signer)
    assert dkim.verify(data, dnsfunc=dns(record))


def test_dkim_configuration_errors_name_the_variable(make_settings, dkim_key, tmp_path):
    key, _ = dkim_key
    with pytest.raises(ConfigError, match="^LANYARD_DKIM_DOMAIN: .*together"):
        make_settings(dkim_selector="lanyard2026", dkim_key_file=key)
    with pytest.raises(ConfigError, match="^LANYARD_DKIM_KEY_FILE: cannot read"):
        make_settings(dkim_selector="s", dkim_domain=DOMAIN, dkim_key_file=tmp_path / "missing.pem")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ConfigError, match="^LANYARD_DKIM_KEY_FILE: .* is not a PEM RSA private key"):
        make_settings(dkim_selector="s", dkim_domain=DOMAIN, dkim_key_file=garbage)
    with pytest.raises(ConfigError, match="^LANYARD_DKIM_SELECTOR: "):
        make_settings(dkim_selector="bad selector!", dkim_domain=DOMAIN, dkim_key_file=key)
    with pytest.raises(ConfigError, match="^LANYARD_DKIM_DOMAIN: "):
        make_settings(dkim_selector="s", dkim_domain="not a domain", dkim_key_file=key)


def test_a_signed_message_still_verifies_after_smtp_and_maildir(renderer, dkim_key, smtp_server, tmp_path):
    key, record = dkim_key
    signer = DkimSigner(selector="lanyard2026", domain=DOMAIN, private_key_pem=key.read_bytes())
    digest = unicode_digest()
    _, data = build(renderer, digest, dkim=signer)
    transport = SmtpTransport(smtp_server.mail_url)
    transport.send(sender="digest@lanyard.example.com", recipient=digest.email, message=data)
    transport.close()
    MaildirTransport(tmp_path).send(sender="digest@lanyard.example.com", recipient=digest.email, message=data)
    assert dkim.verify(smtp_server.messages[0].data, dnsfunc=dns(record))
    assert dkim.verify(next((tmp_path / "new").iterdir()).read_bytes(), dnsfunc=dns(record))


@pytest.mark.parametrize("length", [0, 1, 56, 57, 58, 114, 3000])
def test_parts_of_any_length_decode_back(length):
    from digest.nightly.render import RenderedDigest

    digest = samples.single_digest()
    html = ("<p>é</p>\n" * length)[:length]
    text = ("ab\n" * length)[:length]
    headers = ListHeaders(message_id="<m@example.com>", list_id="l <l.example.com>",
                          unsubscribe_url=digest.unsubscribe_url, unsubscribe_mailto="", feedback_id="f")
    data = build_message(rendered=RenderedDigest(subject="s", text=text, html=html), digest=digest, sender=SENDER,
                         headers=headers)
    assert all(len(line) <= 76 for line in data.split(b"\r\n\r\n", 1)[1].split(b"\r\n"))
    message = parse(data)
    assert message.get_body(("plain",)).get_content().replace("\r\n", "\n") == text
    assert message.get_body(("html",)).get_content().replace("\r\n", "\n") == html
