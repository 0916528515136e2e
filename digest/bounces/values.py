"""The vocabulary of bounce processing (mirrors ``DeliveryFeedback``'s choices in the site)."""

from __future__ import annotations

from enum import StrEnum


class FeedbackKind(StrEnum):
    SOFT_BOUNCE = "soft_bounce"
    HARD_BOUNCE = "hard_bounce"
    COMPLAINT = "complaint"


class Decision(StrEnum):
    BOUNCING = "bouncing"
    COUNTED = "counted"
    UNSUBSCRIBED = "unsubscribed"
    NO_CHANGE = "no_change"


class MatchedBy(StrEnum):
    RETURN_PATH = "return_path"
    MESSAGE_ID = "message_id"


class Source(StrEnum):
    SMTP = "smtp"
    MAILDIR = "maildir"
    IMAP = "imap"


class ReportType(StrEnum):
    DELIVERY_STATUS = "delivery-status"
    FEEDBACK = "feedback-report"
