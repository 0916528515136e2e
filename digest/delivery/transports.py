"""Where built messages go: a maildir outbox (the embedded default) or an SMTP relay.

Both transports have ``send(*, sender, recipient, message)`` and ``close()``. A send
either returns (the message was handed over), or raises:

* :class:`TemporaryDeliveryError`: a 4xx reply, a timeout, a connection that could not
  be made or kept: try again later (the pipeline backs off and retries);
* :class:`PermanentDeliveryError`: a 5xx reply refusing this recipient or this message:
  do not retry (the pipeline marks the subscription bouncing and goes on);
* :class:`DeliveryError` itself: the transport cannot send anything (authentication
  refused, sender refused, outbox not writable): an operator must act, so the chunk
  fails rather than marking subscribers bouncing.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import socket
import ssl
import struct
import time
from pathlib import Path
from typing import Any, Protocol

from digest.config import MailURL, Settings


class DeliveryError(Exception):
    """A message was not delivered; ``code`` is the SMTP reply code when there was one."""

    def __init__(self, message: str, *, code: int | None = None, recipient: str = ""):
        self.code = code
        self.recipient = recipient
        super().__init__(message)


class TemporaryDeliveryError(DeliveryError):
    """Worth retrying later: 4xx replies, timeouts, dropped or refused connections."""


class PermanentDeliveryError(DeliveryError):
    """The server refused this recipient or message for good (5xx)."""


class _Dropped(Exception):
    """The SMTP connection went away before the message was sent."""


class Transport(Protocol):
    """What delivery hands a message to: the maildir outbox or an SMTP relay."""

    def send(self, *, sender: str, recipient: str, message: bytes) -> None: ...

    def close(self) -> None: ...


class MaildirTransport:
    """Writes each message as a file into the maildir ``path`` (``tmp/``, then ``new/``).

    The file is written whole under ``tmp/`` and renamed into ``new/``, so a reader of the
    maildir never sees half a message. Lines end in LF, as mail clients expect on disk.
    """

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._tmp = self.path / "tmp"
        self._new = self.path / "new"
        try:
            for folder in (self._tmp, self._new, self.path / "cur"):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DeliveryError(f"cannot create the maildir outbox {self.path}: {error.strerror or error}") from None
        self._host = socket.gethostname().replace("/", "\\057").replace(":", "\\072")
        self._pid = os.getpid()
        self._count = 0

    def send(self, *, sender: str, recipient: str, message: bytes) -> None:
        self._count += 1
        now = time.time()
        name = f"{int(now)}.M{int(now % 1 * 1e6)}P{self._pid}Q{self._count}.{self._host}"
        temporary = self._tmp / name
        try:
            with open(temporary, "xb") as file:
                file.write(message.replace(b"\r\n", b"\n"))
            os.rename(temporary, self._new / name)
        except OSError as error:
            temporary.unlink(missing_ok=True)
            raise DeliveryError(f"cannot write to the maildir outbox {self.path}: {error.strerror or error}") from None

    def close(self) -> None:
        """Nothing to close; here so both transports can be used alike."""


class SmtpTransport:
    """One SMTP connection, opened on first use and reused for every send.

    A connection the server dropped (idle timeout, restart) is reopened once per send,
    when the drop shows before DATA: nothing was sent, so trying again cannot duplicate.
    A drop while the message is being received is a :class:`TemporaryDeliveryError`
    (the server may have accepted it). After a refusal the connection is RSET and serves
    the next send. ``ssl_context`` defaults to the system's trust store.
    """

    def __init__(self, mail: MailURL, *, ssl_context: ssl.SSLContext | None = None, local_hostname: str | None = None):
        if mail.scheme not in ("smtp", "smtps"):
            raise ValueError(f"SmtpTransport needs an smtp:// or smtps:// URL, not {mail.scheme}://")
        self.mail = mail
        self._ssl_context = ssl_context
        self._local_hostname = local_hostname
        self._connection: smtplib.SMTP | None = None

    def send(self, *, sender: str, recipient: str, message: bytes) -> None:
        connection = self._connect()
        try:
            self._envelope(connection, sender, recipient)
        except _Dropped:
            # Typically the server closed an idle connection; nothing was sent yet.
            connection = self._connect()
            try:
                self._envelope(connection, sender, recipient)
            except _Dropped as error:
                raise TemporaryDeliveryError(
                    f"SMTP server {self._where} dropped the connection twice: {error}", recipient=recipient
                ) from None
        try:
            code, reply = connection.data(message)
        except smtplib.SMTPDataError as error:  # DATA itself refused (no 354)
            self._reset_or_discard(error.smtp_code)
            raise _classified(error.smtp_code, error.smtp_error, recipient, "refused the message") from None
        except (OSError, smtplib.SMTPException) as error:
            # The message may or may not have been accepted; the caller decides on a retry.
            self._discard()
            raise TemporaryDeliveryError(
                f"SMTP server {self._where} failed while receiving the message: {error}", recipient=recipient
            ) from None
        if code != 250:
            self._reset_or_discard(code)
            raise _classified(code, reply, recipient, "refused the message")

    def _envelope(self, connection: smtplib.SMTP, sender: str, recipient: str) -> None:
        """MAIL FROM and RCPT TO; a dropped connection raises :class:`_Dropped`."""
        try:
            code, reply = connection.mail(sender)
            if code != 250:
                self._reset_or_discard(code)
                if code == 421:
                    raise _Dropped(f"{code} {_text(reply)}")
                if 500 <= code < 600:  # the server refuses our sender: nobody would get mail
                    raise DeliveryError(
                        f"SMTP {code} from {self._where}: refused sender {sender}: {_text(reply)}",
                        code=code,
                        recipient=recipient,
                    )
                raise _classified(code, reply, recipient, f"refused sender {sender}")
            code, reply = connection.rcpt(recipient)
            if code not in (250, 251):
                self._reset_or_discard(code)
                raise _classified(code, reply, recipient, f"refused recipient {recipient}")
        except smtplib.SMTPServerDisconnected as error:
            self._discard()
            raise _Dropped(str(error)) from None
        except (OSError, smtplib.SMTPException) as error:
            self._discard()
            raise TemporaryDeliveryError(
                f"SMTP server {self._where} failed during send: {error}", recipient=recipient
            ) from None

    def _reset_or_discard(self, code: int) -> None:
        """After a refusal, RSET so the connection serves the next message; 421 means it is closing."""
        if code == 421 or self._connection is None:
            self._discard()
            return
        try:
            self._connection.rset()
        except (OSError, smtplib.SMTPException):
            self._discard()

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self._connection.quit()
            self._discard()

    @property
    def _where(self) -> str:
        return f"{self.mail.host}:{self.mail.port}"

    def _connect(self) -> smtplib.SMTP:
        if self._connection is not None:
            return self._connection
        mail = self.mail
        connection: smtplib.SMTP
        try:
            if mail.scheme == "smtps":
                connection = smtplib.SMTP_SSL(mail.host, mail.port, local_hostname=self._local_hostname,
                                              timeout=mail.timeout, context=self._context())
            else:
                connection = smtplib.SMTP(
                    mail.host, mail.port, local_hostname=self._local_hostname, timeout=mail.timeout
                )
            try:
                connection.ehlo()
                if mail.starttls:
                    connection.starttls(context=self._context())
                    connection.ehlo()
                if mail.user:
                    connection.login(mail.user, mail.password)
            except BaseException:
                connection.close()
                raise
        except smtplib.SMTPAuthenticationError as error:
            raise DeliveryError(
                f"SMTP {error.smtp_code} from {self._where}: login as {mail.user} refused: {_text(error.smtp_error)}",
                code=error.smtp_code,
            ) from None
        except smtplib.SMTPNotSupportedError as error:
            raise DeliveryError(
                f"SMTP server {self._where} does not support what LANYARD_MAIL_URL asks for: {error}"
            ) from None
        except smtplib.SMTPResponseException as error:
            if 400 <= error.smtp_code < 500:
                raise TemporaryDeliveryError(
                    f"SMTP {error.smtp_code} from {self._where}: {_text(error.smtp_error)}", code=error.smtp_code
                ) from None
            raise DeliveryError(
                f"SMTP {error.smtp_code} from {self._where} refused the connection: {_text(error.smtp_error)}",
                code=error.smtp_code,
            ) from None
        except ssl.SSLError as error:
            raise DeliveryError(f"TLS with SMTP server {self._where} failed: {error}") from None
        except (OSError, smtplib.SMTPException) as error:
            raise TemporaryDeliveryError(f"cannot connect to SMTP server {self._where}: {error}") from None
        _reset_on_close(connection)
        self._connection = connection
        return connection

    def _context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def _discard(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.close()


def _reset_on_close(connection: smtplib.SMTP) -> None:
    """Closing resets the connection (SO_LINGER 0): a message still in the send buffer
    when a send gave up (the network went away mid-DATA; smtplib closes on a timeout) is
    dropped here, not delivered when the network comes back after a retry sent it again.
    A connection that ends normally has had all its data acknowledged."""
    with contextlib.suppress(OSError):
        if connection.sock is not None:
            connection.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def make_transport(settings: Settings, **options: Any) -> MaildirTransport | SmtpTransport:
    """The transport ``settings.mail.transport`` (``LANYARD_MAIL_URL``) names."""
    mail = settings.mail.transport
    if mail.scheme == "maildir":
        assert mail.path is not None  # a maildir URL always names its folder
        return MaildirTransport(mail.path)
    return SmtpTransport(mail, **options)


def _classified(code: int | None, reply: bytes | str, recipient: str, what: str) -> DeliveryError:
    text = f"SMTP {code}: {what}: {_text(reply)}"
    if code is not None and 500 <= code < 600:
        return PermanentDeliveryError(text, code=code, recipient=recipient)
    return TemporaryDeliveryError(text, code=code, recipient=recipient)


def _text(reply: bytes | str) -> str:
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", "replace")
    return " ".join(str(reply).split())
