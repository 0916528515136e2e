"""Where reports are read from: a maildir, or an IMAP mailbox (``lanyard bounces process --from URL``).

Each message is handed to :meth:`FeedbackProcessor.process` and then marked seen (maildir:
moved to ``cur/`` with the ``S`` flag; IMAP: ``\\Seen``), recorded or dropped alike, so
the next pass reads only what is new. A database error stops the pass before the
message is marked, so nothing is lost: the next pass tries it again (and a report it
recorded already is then refused as replayed). Messages are read at most
``MAX_REPORT_BYTES + 1`` bytes deep: a larger one is dropped as too large unread.
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import ssl
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from digest.bounces.process import FeedbackOutcome, FeedbackProcessor
from digest.bounces.reports import MAX_REPORT_BYTES
from digest.bounces.values import Source

IMAP_TIMEOUT = 30.0  # seconds for connecting and each command


class MailboxError(Exception):
    """The mailbox cannot be read (missing folder, login refused, server away); one line for the user."""


@dataclass(frozen=True)
class MailboxURL:
    """A parsed ``--from``: ``maildir:///path`` or ``imap(s)://user:password@host[:port]/FOLDER``."""

    url: str
    scheme: str  # maildir, imap, imaps
    path: Path | None = None
    host: str = ""
    port: int = 0
    user: str = field(default="", repr=False)
    password: str = field(default="", repr=False)
    folder: str = "INBOX"


def parse_mailbox_url(url: str) -> MailboxURL:
    """``ValueError`` with a one-line message for anything else."""
    parts = urlsplit(url.strip())
    if parts.scheme == "maildir":
        path = unquote(parts.netloc + parts.path)
        if not path.strip("/"):
            raise ValueError(f"{url!r} names no folder; use maildir:///path/to/maildir")
        return MailboxURL(url=url, scheme="maildir", path=Path(path).expanduser().absolute())
    if parts.scheme in ("imap", "imaps"):
        if not parts.hostname:
            raise ValueError(f"{url!r} names no host; use imaps://user:password@host/INBOX")
        try:
            port = parts.port or (993 if parts.scheme == "imaps" else 143)
        except ValueError:
            raise ValueError(f"{url!r} has a port that is not a number") from None
        if not parts.username:
            raise ValueError(f"{url!r} names no user; use imaps://user:password@host/INBOX")
        return MailboxURL(
            url=url, scheme=parts.scheme, host=parts.hostname, port=port, user=unquote(parts.username),
            password=unquote(parts.password or ""), folder=unquote(parts.path.lstrip("/")) or "INBOX",
        )
    raise ValueError(f"unknown scheme {parts.scheme or '(none)'!r} in {url!r}; use maildir:///path or imaps://user:password@host/INBOX")


@dataclass
class PassTotals:
    """What one pass over a mailbox did."""

    read: int = 0
    recorded: int = 0
    dropped: int = 0
    decisions: Counter = field(default_factory=Counter)  # "hard_bounce: bouncing" → count
    reasons: Counter = field(default_factory=Counter)  # why messages were dropped (first words)

    def add(self, outcome: FeedbackOutcome) -> None:
        self.read += 1
        if outcome.recorded:
            self.recorded += 1
            self.decisions[f"{outcome.kind}: {outcome.decision}"] += 1
        else:
            self.dropped += 1
            self.reasons[outcome.reason.split(":")[0]] += 1


def process_mailbox(
    processor: FeedbackProcessor, mailbox: MailboxURL, *, ssl_context: ssl.SSLContext | None = None
) -> PassTotals:
    if mailbox.scheme == "maildir":
        assert mailbox.path is not None  # a maildir URL always names its folder
        return process_maildir(processor, mailbox.path)
    return process_imap(processor, mailbox, ssl_context=ssl_context)


# -- maildir -------------------------------------------------------------------------------


def process_maildir(processor: FeedbackProcessor, path: Path) -> PassTotals:
    """Every message in ``new/``, and those in ``cur/`` not yet flagged seen.

    The stdlib ``mailbox`` module (before Python 3.13) can only change a message's flags
    by rewriting the message, so the files are renamed here as the maildir format says.
    """
    if not (path / "new").is_dir() or not (path / "cur").is_dir():
        raise MailboxError(f"{path} is not a maildir (it needs new/ and cur/ folders)")
    totals = PassTotals()
    for folder in ("new", "cur"):
        for name in sorted(os.listdir(path / folder)):
            if name.startswith("."):
                continue
            unique, _, info = name.partition(":")
            flags = info[2:] if info.startswith("2,") else ""
            if folder == "cur" and "S" in flags:
                continue
            file = path / folder / name
            try:
                with open(file, "rb") as handle:
                    raw = handle.read(MAX_REPORT_BYTES + 1)
            except FileNotFoundError:  # another reader took it
                continue
            totals.add(processor.process(raw, source=Source.MAILDIR))
            seen = f"{unique}:2,{''.join(sorted(set(flags) | {'S'}))}"
            with contextlib.suppress(FileNotFoundError):
                os.rename(file, path / "cur" / seen)
    return totals


# -- IMAP ----------------------------------------------------------------------------------



def process_imap(
    processor: FeedbackProcessor, mailbox: MailboxURL, *, ssl_context: ssl.SSLContext | None = None
) -> PassTotals:
    """Every unseen message of the folder, each marked ``\\Seen`` once handled."""
    where = f"{mailbox.host}:{mailbox.port}"
    connection: imaplib.IMAP4
    try:
        if mailbox.scheme == "imaps":
            connection = imaplib.IMAP4_SSL(
                mailbox.host,
                mailbox.port,
                ssl_context=ssl_context or ssl.create_default_context(),
                timeout=IMAP_TIMEOUT,
            )
        else:
            connection = imaplib.IMAP4(mailbox.host, mailbox.port, timeout=IMAP_TIMEOUT)
    except (OSError, imaplib.IMAP4.error) as error:
        raise MailboxError(f"cannot connect to the IMAP server {where}: {error}") from None
    try:
        try:
            connection.login(mailbox.user, mailbox.password)
        except imaplib.IMAP4.error as error:
            raise MailboxError(f"the IMAP server {where} refused the login of {mailbox.user}: {_text(error)}") from None
        return _imap_pass(processor, connection, mailbox, where)
    except (OSError, imaplib.IMAP4.abort) as error:
        raise MailboxError(f"the IMAP server {where} failed: {error}") from None
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            connection.logout()


def _imap_pass(processor: FeedbackProcessor, connection: imaplib.IMAP4, mailbox: MailboxURL, where: str) -> PassTotals:
    kind, data = connection.select(_quoted(mailbox.folder))
    if kind != "OK":
        raise MailboxError(f"the IMAP server {where} has no folder {mailbox.folder!r}: {_text(data)}")
    kind, data = connection.uid("SEARCH", None, "UNSEEN")  # type: ignore[arg-type]  # None: no charset
    if kind != "OK":
        raise MailboxError(f"the IMAP server {where} refused to search {mailbox.folder!r}: {_text(data)}")
    totals = PassTotals()
    found: Any = data[0]  # bytes: the uids, space-separated
    for uid in (found or b"").split():
        # BODY.PEEK leaves \Seen alone until the message is handled; <0.N> caps the read.
        kind, data = connection.uid("FETCH", uid, f"(BODY.PEEK[]<0.{MAX_REPORT_BYTES + 1}>)")  # type: ignore[arg-type]
        parts: Any = data or ()  # imaplib: (envelope, message bytes) tuples and closing bytes
        raw = next((item[1] for item in parts if isinstance(item, tuple)), None)
        if kind != "OK" or raw is None:
            continue  # expunged meanwhile
        totals.add(processor.process(raw, source=Source.IMAP))
        connection.uid("STORE", uid, "+FLAGS.SILENT", r"(\Seen)")  # type: ignore[arg-type]  # a uid as bytes
    return totals


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(value: object) -> str:
    if isinstance(value, (list, tuple)):
        value = (
            b" ".join(v for v in value if isinstance(v, bytes)) if value and isinstance(value[0], bytes) else str(value)
        )
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return " ".join(str(value).split())
