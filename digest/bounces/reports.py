"""Parsing bounce and complaint reports with the standard library's ``email`` package.

A delivery status notification (RFC 3464) is ``multipart/report;
report-type=delivery-status`` holding a human-readable part, a ``message/delivery-status``
part (one block of per-message fields, then one block per recipient) and, optionally,
the returned message or its headers. A complaint (RFC 5965, ARF) is ``multipart/report;
report-type=feedback-report`` with a ``message/feedback-report`` part and the original
message or its headers. :func:`parse_report` reads either into a :class:`Report` or
refuses the input with a :class:`NotAReport` saying why. It never trusts the input:
sizes are capped before parsing, and a report whose own MIME tree is damaged is refused
(a returned message cut short inside it is fine: MTAs truncate what they return).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email import errors, policy
from email.header import Header, decode_header
from email.message import Message
from email.parser import BytesParser, HeaderParser
from email.utils import getaddresses
from typing import Any

from digest.bounces.values import ReportType

MAX_REPORT_BYTES = 2 * 1024 * 1024  # a DSN quoting a whole digest is ~150 KB; larger is not a report of ours
# Where the address a report was sent to (our return path) can appear in the report itself.
_ENVELOPE_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")
# Where the quoted original message's sender can appear: the return path it was sent with.
_QUOTED_SENDER_HEADERS = ("Return-Path", "X-Envelope-From")
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}@[^<>\s]{1,250}>")
_STRUCTURE_DEFECTS = (
    errors.StartBoundaryNotFoundDefect,
    errors.CloseBoundaryNotFoundDefect,
    errors.MultipartInvariantViolationDefect,
    errors.NoBoundaryInMultipartDefect,
)


class NotAReport(ValueError):
    """The input is not a usable bounce or complaint report; the message says why."""


@dataclass(frozen=True, slots=True)
class RecipientStatus:
    """One per-recipient block of a DSN."""

    final_recipient: str
    action: str  # failed, delayed, delivered, relayed, expanded (lower case)
    status: str  # "5.1.1"; "" when the block has none
    diagnostic: str  # the remote server's words, one line


@dataclass(frozen=True, slots=True)
class Report:
    type: ReportType
    fingerprint: str  # SHA-256 hex naming this report: its Message-ID, else its machine-readable part
    recipients: tuple[RecipientStatus, ...] = ()  # DSNs
    feedback_type: str = ""  # ARF: abuse, fraud, not-spam, … (lower case)
    message_ids: tuple[str, ...] = ()  # Message-IDs of the original message the report quotes
    addresses: tuple[str, ...] = ()  # addresses that may be our return path (where the report went, the quoted sender)


def parse_report(raw: bytes) -> Report:
    """The report in ``raw`` (a whole message, as received), or :class:`NotAReport`."""
    try:
        return _parse(raw)
    except NotAReport:
        raise
    except (ValueError, LookupError, TypeError, AttributeError, IndexError) as error:
        # The email package tolerates most damage, but a hostile header (an unknown
        # charset, a parameter it cannot split) can still raise one of these.
        raise NotAReport(f"unreadable ({type(error).__name__})") from None


def _multipart_report(raw: bytes) -> tuple[Message, str, list]:
    """The message, its report type and its parts, or :class:`NotAReport` saying why not."""
    if not isinstance(raw, (bytes, bytearray)):
        raise NotAReport("not a message (bytes expected)")
    if len(raw) > MAX_REPORT_BYTES:
        raise NotAReport(f"too large to be a report ({len(raw):,} bytes; at most {MAX_REPORT_BYTES:,})")
    if not raw.strip():
        raise NotAReport("empty message")
    message = BytesParser(policy=policy.compat32).parsebytes(bytes(raw))
    if message.get_content_type() != "multipart/report":
        raise NotAReport(f"not a multipart/report but {message.get_content_type()}")
    report_type = str(message.get_param("report-type") or "").lower()
    if report_type not in (ReportType.DELIVERY_STATUS, ReportType.FEEDBACK):
        raise NotAReport(f"a multipart/report of an unknown type {report_type or '(none)'!r}")
    damage = [d for d in message.defects if isinstance(d, _STRUCTURE_DEFECTS)]
    if damage or not message.is_multipart():
        raise NotAReport(f"a damaged MIME tree ({type(damage[0]).__name__ if damage else 'no parts'})")
    parts = message.get_payload()
    return message, report_type, parts if isinstance(parts, list) else []


def _parse(raw: bytes) -> Report:
    message, report_type, parts = _multipart_report(raw)
    if report_type == ReportType.DELIVERY_STATUS:
        status_part = _part(parts, ("message/delivery-status", "message/global-delivery-status"))
        if status_part is None:
            raise NotAReport("a delivery-status report without a message/delivery-status part")
        blocks = _field_blocks(status_part)
        recipients = tuple(
            _recipient(block) for block in blocks[1:] if block.get("Final-Recipient") or block.get("Action")
        )
        if not recipients:
            raise NotAReport("a delivery-status report naming no recipient")
        machine_text = "\n\n".join(_block_text(block) for block in blocks)
        report: dict[str, Any] = dict(recipients=recipients)
        # Gmail names the returned message in the per-message block.
        extra_ids = [
            block.get(name, "") for block in blocks for name in ("Original-Message-ID", "X-Original-Message-ID")
        ]
    else:
        feedback_part = _part(parts, ("message/feedback-report",))
        if feedback_part is None:
            raise NotAReport("a feedback report without a message/feedback-report part")
        blocks = _field_blocks(feedback_part)
        fields = blocks[0] if blocks else Message()
        feedback_type = _clean(fields.get("Feedback-Type", "")).lower()
        if not feedback_type:
            raise NotAReport("a feedback report without a Feedback-Type")
        machine_text = _block_text(fields)
        report = dict(feedback_type=feedback_type)
        extra_ids = [fields.get("Original-Message-ID", "")]
    quoted = _quoted_headers(parts)
    message_ids = _ids([*(quoted.get_all("Message-ID", []) if quoted is not None else []), *extra_ids,
                        message.get("Original-Message-ID", "")])
    addresses = [value for name in _ENVELOPE_HEADERS for value in message.get_all(name, [])]
    if report_type == ReportType.FEEDBACK:
        addresses += [fields.get("Original-Mail-From", "")]
    if quoted is not None:
        addresses += [value for name in _QUOTED_SENDER_HEADERS for value in quoted.get_all(name, [])]
    own_id = _ids([message.get("Message-ID", "")])
    basis = f"message-id {own_id[0]}" if own_id else f"report {machine_text}\nquoting {' '.join(message_ids)}"
    return Report(
        type=ReportType(report_type),
        fingerprint=hashlib.sha256(basis.encode("utf-8", "replace")).hexdigest(),
        message_ids=message_ids,
        addresses=_addresses(addresses),
        **report,
    )


def _part(parts: list, content_types: tuple[str, ...]) -> Message | None:
    for part in parts:
        if isinstance(part, Message) and part.get_content_type() in content_types:
            return part
    return None


def _field_blocks(part: Message) -> list[Message]:
    """The blocks of header-like fields of a report part.

    The parser splits ``message/delivery-status`` into blocks itself; other report
    parts (``message/feedback-report``, the UTF-8 ``global`` variants) arrive as one
    parsed message or as text, which is split at blank lines here.
    """
    payload = part.get_payload()
    if isinstance(payload, list) and all(isinstance(p, Message) for p in payload):
        blocks: list[Message] = []
        for block in payload:
            assert isinstance(block, Message)  # checked above
            blocks.append(block)
            body = block.get_payload()
            if isinstance(body, str) and body.strip():  # blocks the parser did not separate
                blocks.extend(_text_blocks(body))
        return blocks
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8", "replace")
    if isinstance(payload, str):
        if part.get("Content-Transfer-Encoding", "").lower() in ("base64", "quoted-printable"):
            decoded: Any = part.get_payload(decode=True)  # bytes for a single part
            payload = (decoded or b"").decode("utf-8", "replace")
        return _text_blocks(payload)
    return []


def _text_blocks(text: str) -> list[Message]:
    parser = HeaderParser(policy=policy.compat32)
    chunks = re.split(r"\r?\n[ \t]*\r?\n", text.strip())
    return [parser.parsestr(chunk.strip() + "\n") for chunk in chunks if chunk.strip()]


def _block_text(block: Message) -> str:
    return "\n".join(f"{name}: {' '.join(str(value).split())}" for name, value in block.items())


def _recipient(block: Message) -> RecipientStatus:
    final = _typed_value(block.get("Final-Recipient", "") or block.get("Original-Recipient", ""))
    status = _status_code(_clean(block.get("Status", "")))
    diagnostic = _typed_value(block.get("Diagnostic-Code", ""))
    if not status:
        # Some MTAs leave Status out or put 5.0.0 with the real code in the diagnostic.
        status = _status_code(diagnostic)
    return RecipientStatus(
        final_recipient=final.lower(),
        action=_clean(block.get("Action", "")).lower(),
        status=status,
        diagnostic=diagnostic[:2000],
    )


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _clean(value: object) -> str:
    """A header's text as storable, printable text on one line.

    The parser hands undecodable bytes over as surrogate escapes, which neither a
    database driver nor a log can take; NUL and other controls go too.
    """
    if isinstance(value, Header):  # a header with 8-bit bytes: take them as UTF-8 (RFC 6532)
        text = "".join(_decoded(chunk, charset) for chunk, charset in decode_header(value))
    else:
        text = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return " ".join(_CONTROL.sub(" ", text).split())


def _decoded(chunk: bytes | str, charset: str | None) -> str:
    if isinstance(chunk, str):
        return chunk
    try:
        return chunk.decode(charset if charset and charset != "unknown-8bit" else "utf-8", "replace")
    except LookupError:  # a charset Python does not know
        return chunk.decode("utf-8", "replace")


def _typed_value(value: object) -> str:
    """``rfc822; ada@example.com`` → ``ada@example.com`` (the address-type or diagnostic-type goes)."""
    text = _clean(value)
    kind, separator, rest = text.partition(";")
    return rest.strip() if separator and " " not in kind.strip() else text


_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")


def _status_code(text: str) -> str:
    match = _STATUS.search(text)
    return ".".join(match.groups()) if match else ""


def _quoted_headers(parts: list) -> Message | None:
    """The headers of the original message a report quotes (whole, or headers only)."""
    for part in parts[1:]:
        if not isinstance(part, Message):
            continue
        content_type = part.get_content_type()
        if content_type in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
            if isinstance(payload, str):
                return HeaderParser(policy=policy.compat32).parsestr(payload)
        if content_type in ("text/rfc822-headers", "message/global-headers"):
            text: Any = part.get_payload(decode=True) or b""  # bytes for a single part
            return HeaderParser(policy=policy.compat32).parsestr(text.decode("utf-8", "replace"))
    return None


def _ids(values: Iterable[object]) -> tuple[str, ...]:
    found: list[str] = []
    for value in values:
        for match in _MESSAGE_ID.findall(_clean(value)):
            if match not in found:
                found.append(match)
    return tuple(found)


def _addresses(values: Iterable[object]) -> tuple[str, ...]:
    found: list[str] = []
    for _, address in getaddresses([_clean(v) for v in values if v]):
        address = address.strip().strip("<>").lower()
        if "@" in address and address not in found:
            found.append(address)
    return tuple(found)
