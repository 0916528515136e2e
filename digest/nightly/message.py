"""The digest email as bytes: multipart/alternative (text, then HTML), UTF-8, list headers.

Built from a fixed MIME skeleton rather than ``email.message.EmailMessage``. The text
part is quoted-printable (readable in the raw message; one C call, ``binascii.b2a_qp``),
the HTML part base64 (several times faster than quoted-printable on tens of kilobytes
of markup). The boundary contains ``=_``, which neither encoding can produce, so one
fixed boundary is safe for every message. Headers are ASCII; names and subjects outside ASCII become RFC 2047
encoded words. Lines end in CRLF, as on the wire (SMTP sends the bytes unchanged).

Optional DKIM signing (:class:`DkimSigner`, dkimpy) covers the headers a receiver must
be able to trust, both List-Unsubscribe headers included (RFC 8058 requires it).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import struct
from dataclasses import dataclass
from email.utils import format_datetime, parseaddr
from functools import lru_cache

import dkim as dkimpy

from digest.config import Settings
from digest.nightly.render import RenderedDigest
from digest.values import Digest

BOUNDARY = "=_lanyard_digest_alternative_="
MAX_LINE = 78  # RFC 5322's recommended limit for header lines
ENCODED_LINE = 76  # RFC 2047: a line holding encoded words is at most 76 characters
_PHRASE_ATOMS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]*")
_BAD_ADDRESS = re.compile(r"[\s<>()\[\],;:\"\\]")
_BAD_URL = re.compile(r"[\s<>]")

_STATIC_HEADERS = (
    "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    "Precedence: bulk\r\n"
    "Auto-Submitted: auto-generated\r\n"
    "MIME-Version: 1.0\r\n"
    f'Content-Type: multipart/alternative; boundary="{BOUNDARY}"\r\n'
    "\r\n"
).encode("ascii")
_TEXT_PART = (
    f"--{BOUNDARY}\r\n"
    'Content-Type: text/plain; charset="utf-8"\r\n'
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
).encode("ascii")
_HTML_PART = (
    f"\r\n--{BOUNDARY}\r\n"
    'Content-Type: text/html; charset="utf-8"\r\n'
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
).encode("ascii")
_CLOSE = f"\r\n--{BOUNDARY}--\r\n".encode("ascii")


class MessageError(ValueError):
    """A message cannot be built from these values (an address or URL that is not usable)."""


@dataclass(frozen=True, slots=True)
class ListHeaders:
    """One message's id and its mailing-list headers (RFC 2369, 2919, 8058; Gmail's Feedback-ID)."""

    message_id: str  # see make_message_id
    list_id: str  # a full List-Id value (see make_list_id)
    unsubscribe_url: str
    unsubscribe_mailto: str  # a mailto: URL, or ""
    feedback_id: str


def build_message(
    *,
    rendered: RenderedDigest,
    digest: Digest,
    sender: str,
    headers: ListHeaders,
    date: dt.datetime | None = None,
    dkim: DkimSigner | None = None,
) -> bytes:
    """The digest email, ready for a transport: headers and both parts, CRLF line ends.

    ``sender`` is ``Name <address>`` (``LANYARD_MAIL_FROM``).
    """
    unsubscribe_url, unsubscribe_mailto = headers.unsubscribe_url, headers.unsubscribe_mailto
    if date is None:
        date = dt.datetime.now(dt.UTC)
    elif date.tzinfo is None:
        date = date.replace(tzinfo=dt.UTC)
    if not _safe_url(unsubscribe_url) or not unsubscribe_url.startswith(("https://", "http://")):
        raise MessageError(f"unsubscribe URL {unsubscribe_url!r} is not an absolute http(s) URL")
    unsubscribe = f"<{unsubscribe_url}>"
    if unsubscribe_mailto:
        if not _safe_url(unsubscribe_mailto) or not unsubscribe_mailto.startswith("mailto:"):
            raise MessageError(f"unsubscribe address {unsubscribe_mailto!r} is not a mailto: URL")
        unsubscribe += f",\r\n <{unsubscribe_mailto}>"
    head = (
        f"Date: {format_datetime(date)}\r\n"
        f"From: {_sender_header(sender)}\r\n"
        f"To: {_mailbox(digest.recipient.name, digest.email, 'To')}\r\n"
        f"Subject: {encode_header(rendered.subject, len('Subject: '))}\r\n"
        f"Message-ID: {headers.message_id}\r\n"
        f"List-Id: {_list_id_header(headers.list_id)}\r\n"
        f"List-Unsubscribe: {unsubscribe}\r\n"
        f"Feedback-ID: {_one_line(headers.feedback_id)}\r\n"
    )
    message = b"".join((
        head.encode("ascii"),
        _STATIC_HEADERS,
        _TEXT_PART,
        _quoted_printable(rendered.text),
        _HTML_PART,
        _base64(rendered.html),
        _CLOSE,
    ))
    return dkim.sign(message) if dkim is not None else message


def make_message_id(*, subscription_id: int, digest_date: dt.date, domain: str) -> str:
    """``<digest.20260302.42@example.com>``: one id per subscription and digest date.

    Deterministic on purpose: if a send is repeated (a crash between the SMTP server
    accepting the message and the ledger recording it), both copies carry the same id,
    and mail clients and many servers drop the duplicate.
    """
    return f"<digest.{digest_date:%Y%m%d}.{subscription_id}@{domain}>"


def make_list_id(*, list_name: str, domain: str) -> str:
    """``lanyard daily digest <daily.digest.example.com>`` (RFC 2919)."""
    return f"lanyard {list_name} digest <{list_name}.digest.{domain}>"


def sender_domain(sender: str) -> str:
    """The domain of a ``Name <address>`` sender: the Message-ID and List-Id use it."""
    return _parse_sender(sender)[1].rpartition("@")[2]


def sender_name(sender: str) -> str:
    """The display name of a ``Name <address>`` sender (the footer names who sends the email)."""
    return _parse_sender(sender)[0]


def encode_header(value: str, used: int = 0) -> str:
    """A header value as ASCII: folded at spaces, or RFC 2047 encoded words when needed.

    ``used`` is how many characters of the first line the header's name takes.
    """
    value = " ".join(value.split())  # no CR, LF or tab can reach a header
    if value.isascii() and "=?" not in value:
        if used + len(value) <= MAX_LINE:
            return value
        words = value.split(" ")
        if max(map(len, words)) < 900:
            return _fold(words, used, MAX_LINE)
        return "\r\n ".join(_encoded_words(value, used))
    # Word by word: only the words that need it become encoded words, so "José García is
    # going to PyCon" stays readable in the raw message and in clients that show it raw.
    words = value.split(" ")
    tokens: list[str] = []
    for index, word in enumerate(words):
        if _plain(word):
            tokens.append(word)
            continue
        # Whitespace between two encoded words is not part of the text (RFC 2047, 6.2):
        # a space before a following encoded word travels inside this one.
        follows = index + 1 < len(words) and not _plain(words[index + 1])
        room = ENCODED_LINE - used - 1 - len("=?utf-8?q??=") if not tokens else _Q_WORD_BYTES
        tokens.extend(_q_words(word + " " if follows else word, first=room))
    return _fold(tokens, used, ENCODED_LINE)


def _plain(word: str) -> bool:
    return word.isascii() and "=?" not in word and len(word) < 900


_Q_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
_Q_WORD_BYTES = ENCODED_LINE - 1 - len("=?utf-8?q??=")  # encoded text of one word on its own line


def _q_words(text: str, *, first: int = _Q_WORD_BYTES) -> list[str]:
    """``text`` as Q-encoded words of whole characters, each short enough for a line of its own
    (the first one for ``first`` encoded characters: it may start the header's first line)."""
    words: list[str] = []
    chunk = ""
    for char in text:
        encoded = "".join(chr(b) if b in _Q_SAFE else ("_" if b == 32 else f"={b:02X}") for b in char.encode("utf-8"))
        if chunk and len(chunk) + len(encoded) > (first if not words else _Q_WORD_BYTES):
            words.append(f"=?utf-8?q?{chunk}?=")
            chunk = ""
        chunk += encoded
    if chunk:
        words.append(f"=?utf-8?q?{chunk}?=")
    return words


def _fold(words: list[str], used: int, limit: int) -> str:
    lines: list[str] = []
    line = ""
    for word in words:
        if line and used + len(line) + 1 + len(word) > limit:
            lines.append(line)
            line, used = word, 1
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\r\n ".join(lines)


def _encoded_words(value: str, used: int) -> list[str]:
    """``value`` as base64 encoded words of whole characters, one per line of at most 76.

    ``used`` characters of the first line are taken; later lines start with one space.
    """
    words: list[str] = []
    chunk: list[bytes] = []
    size = 0
    limit = _word_bytes(used)
    for char in value:
        encoded = char.encode("utf-8")
        if chunk and size + len(encoded) > limit:
            words.append(_encoded_word(b"".join(chunk)))
            chunk, size, limit = [], 0, _word_bytes(1)
        chunk.append(encoded)
        size += len(encoded)
    if chunk:
        words.append(_encoded_word(b"".join(chunk)))
    return words


def _word_bytes(used: int) -> int:
    """How many UTF-8 bytes fit in one encoded word after ``used`` characters of a line."""
    return max(3 * ((ENCODED_LINE - used - len("=?utf-8?b??=")) // 4), 12)


def _encoded_word(data: bytes) -> str:
    return f"=?utf-8?b?{base64.b64encode(data).decode('ascii')}?="


def _mailbox(name: str, address: str, role: str) -> str:
    """``Name <address>`` with the name quoted or encoded as it needs."""
    if not address.isascii() or address.count("@") != 1 or _BAD_ADDRESS.search(address):
        raise MessageError(f"{role} address {address!r} is not a plain ASCII email address")
    name = " ".join(name.split())
    if not name:
        return address
    if name.isascii() and "=?" not in name:
        phrase = name if _PHRASE_ATOMS.fullmatch(name) else '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if len(phrase) + len(address) + 3 + len(role) + 2 <= 998:
            return f"{phrase} <{address}>"
    return "\r\n ".join(_encoded_words(name, len(role) + 2)) + f"\r\n <{address}>"


@lru_cache(maxsize=64)
def _sender_header(sender: str) -> str:
    name, address = _parse_sender(sender)
    return _mailbox(name, address, "From")


@lru_cache(maxsize=64)
def _parse_sender(sender: str) -> tuple[str, str]:
    name, address = parseaddr(sender)
    if "@" not in address:
        raise MessageError(f"sender {sender!r} is not 'Name <address>'")
    return name, address


@lru_cache(maxsize=64)
def _list_id_header(list_id: str) -> str:
    list_id = _one_line(list_id)
    if not list_id.endswith(">") or "<" not in list_id:
        raise MessageError(f"List-Id {list_id!r} must end in <list.identifier>")
    phrase, _, identifier = list_id.rpartition("<")
    phrase = phrase.strip()
    return f"{encode_header(phrase, len('List-Id: '))} <{identifier}" if phrase else f"<{identifier}"


def _one_line(value: str) -> str:
    if not value.isascii():
        raise MessageError(f"header value {value!r} must be ASCII")
    return " ".join(value.split())


def _safe_url(url: str) -> bool:
    return url.isascii() and not _BAD_URL.search(url)


def _quoted_printable(text: str) -> bytes:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return binascii.b2a_qp(text.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")


def _base64(text: str) -> bytes:
    """``text`` with CRLF line ends (the canonical form of text/*), base64 in 76-character lines."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    encoded = binascii.b2a_base64(text.replace("\n", "\r\n").encode("utf-8"), newline=False)
    full = len(encoded) // 76
    lines = list(_line_splitter(full).unpack_from(encoded))  # one C call instead of a slicing loop
    if len(encoded) > full * 76:
        lines.append(encoded[full * 76:])
    return b"\r\n".join(lines)


@lru_cache(maxsize=4096)
def _line_splitter(count: int) -> struct.Struct:
    """Splits ``count`` 76-byte lines off the front of a buffer."""
    return struct.Struct("76s" * count)


class DkimSigner:
    """DKIM signatures (RSA-SHA256, relaxed/relaxed) made with one configured key."""

    SIGNED_HEADERS = (
        b"From", b"To", b"Subject", b"Date", b"Message-ID", b"List-Id",
        b"List-Unsubscribe", b"List-Unsubscribe-Post", b"Feedback-ID",
        b"MIME-Version", b"Content-Type",
    )

    def __init__(self, *, selector: str, domain: str, private_key_pem: bytes | str):
        if isinstance(private_key_pem, str):
            private_key_pem = private_key_pem.encode("ascii")
        self.selector = selector.encode("ascii")
        self.domain = domain.encode("ascii")
        try:
            dkimpy.crypto.parse_pem_private_key(private_key_pem)
        except (dkimpy.crypto.UnparsableKeyError, ValueError, IndexError) as error:
            raise ValueError(f"not a PEM RSA private key ({error})") from None
        self._key = private_key_pem

    @classmethod
    def from_settings(cls, settings: Settings) -> DkimSigner | None:
        """The signer for ``settings.mail.dkim``, or None when DKIM is not configured."""
        key = settings.mail.dkim
        if key is None:
            return None
        return cls(selector=key.selector, domain=key.domain, private_key_pem=key.private_key_pem)

    def sign(self, message: bytes) -> bytes:
        """``message`` with a DKIM-Signature header in front."""
        signature = dkimpy.sign(
            message, self.selector, self.domain, self._key,
            canonicalize=(b"relaxed", b"relaxed"), include_headers=list(self.SIGNED_HEADERS),
        )
        return signature + message
