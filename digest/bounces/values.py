"""Values of bounce processing that are not stored (the stored words are in digest/vocabulary.py)."""

from __future__ import annotations

from enum import StrEnum


class Source(StrEnum):
    """Where a report came from (``delivery_feedback.source``)."""

    SMTP = "smtp"
    MAILDIR = "maildir"
    IMAP = "imap"


class ReportType(StrEnum):
    """The ``report-type`` of a ``multipart/report`` lanyard reads."""

    DELIVERY_STATUS = "delivery-status"
    FEEDBACK = "feedback-report"
