"""A real SMTP server for tests: aiosmtpd on loopback, recording what it receives.

Used through the ``smtp_server`` fixture (tests/conftest.py); construct
:class:`SmtpTestServer` directly for TLS or login (``tls_context=``, ``authenticator=``).
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from aiosmtpd.controller import Controller

from digest.config import MailURL, parse_mail_url


@dataclass(frozen=True)
class ReceivedMessage:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes  # as received, CRLF line ends, dot-unstuffed
    received_at: float = field(default_factory=time.time)  # when the server accepted it (time.time())

    def parsed(self) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(self.data)


class RecordingHandler:
    """aiosmtpd handler: stores accepted messages, refuses as it is told."""

    def __init__(self):
        self.messages: list[ReceivedMessage] = []
        self.refused_recipients: dict[str, str] = {}
        self._failures: list[tuple[str, str]] = []  # (stage, reply), one per coming message
        self._lock = threading.Lock()

    def _next_failure(self, stage: str) -> str | None:
        with self._lock:
            if self._failures and self._failures[0][0] == stage:
                return self._failures.pop(0)[1]
        return None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused_recipients:
            return self.refused_recipients[address]
        failure = self._next_failure("rcpt")
        if failure:
            return failure
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        failure = self._next_failure("data")
        if failure:
            return failure
        with self._lock:
            self.messages.append(ReceivedMessage(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 2.0.0 Message accepted for delivery"


class SmtpTestServer:
    """aiosmtpd on 127.0.0.1 at a free port, with controls for the failure cases.

    * ``messages``: every accepted :class:`ReceivedMessage`, in order
      (``parsed()`` gives an ``EmailMessage`` with ``policy.default``).
    * ``refuse(recipient, reply="550 5.1.1 No such user")``: answer RCPT for that address
      with ``reply`` (4xx or 5xx), every time, until ``accept(recipient)``.
    * ``fail_next(count=1, reply="451 4.3.0 Try again later", stage="data")``: the next
      ``count`` messages get ``reply`` at ``stage`` ``"rcpt"`` or ``"data"``.
    * ``stop()``, ``start()``, ``restart()``: stopping closes every client connection
      (a dropped connection); starting again listens on the same port.
    * ``url`` (``smtp://127.0.0.1:<port>``) and ``mail_url`` (a parsed MailURL).
    * Anything else: set an aiosmtpd hook on ``handler`` (``handler.handle_MAIL = …``);
      aiosmtpd reads hooks when a connection opens, so set it before connecting.
    """

    host = "127.0.0.1"

    def __init__(self, *, tls_context=None, authenticator=None, **smtp_options):
        self.handler = RecordingHandler()
        with socket.socket() as probe:  # a free port; aiosmtpd cannot bind port 0 itself
            probe.bind((self.host, 0))
            self.port = probe.getsockname()[1]
        self._options = dict(smtp_options)
        if tls_context is not None:
            self._options.update(tls_context=tls_context, require_starttls=True)
        if authenticator is not None:
            self._options.update(authenticator=authenticator, auth_required=True)
        self._controller: Controller | None = None

    @property
    def messages(self) -> list[ReceivedMessage]:
        return self.handler.messages

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    @property
    def mail_url(self) -> MailURL:
        return parse_mail_url(self.url)

    def refuse(self, recipient: str, reply: str = "550 5.1.1 No such user") -> None:
        self.handler.refused_recipients[recipient] = reply

    def accept(self, recipient: str) -> None:
        self.handler.refused_recipients.pop(recipient, None)

    def fail_next(self, count: int = 1, reply: str = "451 4.3.0 Try again later", *, stage: str = "data") -> None:
        if stage not in ("rcpt", "data"):
            raise ValueError("stage is 'rcpt' or 'data'")
        with self.handler._lock:
            self.handler._failures.extend([(stage, reply)] * count)

    def start(self) -> None:
        if self._controller is None:
            self._controller = Controller(self.handler, hostname=self.host, port=self.port, **self._options)
            self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> SmtpTestServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
