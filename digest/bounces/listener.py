"""An SMTP listener for reports as they arrive (``lanyard bounces serve``; aiosmtpd).

Point the bounce domain's MX (or the relay's bounce route and the feedback loops) at it.
It accepts recipients at the bounce domain only (it relays nothing), caps a message at
``MAX_REPORT_BYTES`` (larger ones get 552 while being received), and answers 250 for
every report it has handled, dropped ones included: refusing a bounce would only make
the sending server bounce the bounce. When the database cannot record a report it
answers 451, so the sending server keeps the report and tries again later.
"""

from __future__ import annotations

import asyncio
import logging

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from digest.bounces.process import FeedbackProcessor
from digest.bounces.reports import MAX_REPORT_BYTES
from digest.bounces.values import Source

log = logging.getLogger("lanyard.bounces")


class FeedbackHandler:
    """aiosmtpd handler: each message goes to the processor, in a worker thread."""

    def __init__(self, processor: FeedbackProcessor):
        self.processor = processor
        self.domain = processor.return_path.domain

    async def handle_RCPT(  # aiosmtpd's handler hook
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.rpartition("@")[2].lower() != self.domain:
            return f"550 5.7.1 this server takes reports for {self.domain} only"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # aiosmtpd's hook
        raw = envelope.original_content or envelope.content or b""
        assert isinstance(raw, bytes)  # decode_data is off: the bytes as received
        loop = asyncio.get_running_loop()
        try:
            # The processor blocks on the database; the event loop keeps serving others.
            outcome = await loop.run_in_executor(
                None,
                lambda: self.processor.process(raw, source=Source.SMTP, envelope_recipients=tuple(envelope.rcpt_tos)),
            )
        except Exception:
            log.exception("smtp report from %s not recorded; asked the sender to retry", envelope.mail_from)
            return "451 4.3.0 cannot record the report right now; try again later"
        return "250 2.0.0 recorded" if outcome.recorded else "250 2.0.0 received"


def make_listener(processor: FeedbackProcessor, *, host: str, port: int) -> Controller:
    """A stopped listener; ``start()`` serves in a background thread, ``stop()`` ends it."""
    return Controller(
        FeedbackHandler(processor), hostname=host, port=port, data_size_limit=MAX_REPORT_BYTES,
        enable_SMTPUTF8=True, ready_timeout=30,
    )
