"""A corpus of bounce and complaint reports shaped like the real ones.

Built from the examples of RFC 3464 (DSN) and RFC 5965 (ARF) and from what Postfix,
Exim, Gmail and Yahoo's feedback loop send: their headers, their MIME trees, where
they put the return path and the quoted Message-ID. Each builder takes the return
path the report is addressed to (``to``), the Message-ID of the digest it returns
(``message_id``) and the recipient, and returns the raw message, CRLF line ends.
"""

from __future__ import annotations

import uuid


def _crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def _report_id() -> str:
    return f"<{uuid.uuid4().hex}@mx.example.net>"


def original_headers(*, to: str, message_id: str, recipient: str) -> str:
    """The headers of a lanyard digest as a receiving server saw them."""
    return (
        f"Return-Path: <{to}>\n"
        "Received: from mail.lanyard.example (mail.lanyard.example [198.51.100.7])\n"
        "\tby mx.example.org (Postfix) with ESMTPS id 4QxYz1;\n"
        "\tTue,  1 Dec 2026 07:00:02 +0000 (UTC)\n"
        "Date: Tue, 01 Dec 2026 07:00:01 +0000\n"
        "From: lanyard <digest@lanyard.example>\n"
        f"To: Ada Li <{recipient}>\n"
        "Subject: Bob Ng is speaking at PyCon Lisbon\n"
        f"Message-ID: {message_id}\n"
        "List-Id: lanyard daily digest <daily.digest.lanyard.example>\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/alternative; boundary="=_lanyard_digest_alternative_="\n'
    )


def original_message(*, to: str, message_id: str, recipient: str) -> str:
    return original_headers(to=to, message_id=message_id, recipient=recipient) + (
        "\n--=_lanyard_digest_alternative_=\n"
        'Content-Type: text/plain; charset="utf-8"\n'
        "Content-Transfer-Encoding: quoted-printable\n\n"
        "Hi Ada Li,\n\nPyCon Lisbon\n"
        "\n--=_lanyard_digest_alternative_=--\n"
    )


def postfix_hard(*, to: str, message_id: str, recipient: str = "ada@example.org", status: str = "5.1.1",
                 report_id: str | None = None) -> bytes:
    """Postfix's bounce: notification, delivery report, returned headers (text/rfc822-headers)."""
    boundary = "8A1F2C0461.1764572405/mail.example.net"
    return _crlf(f"""Return-Path: <>
Delivered-To: {to}
Received: by mail.example.net (Postfix) id 3F2A1C0462; Tue,  1 Dec 2026 07:00:05 +0000 (UTC)
Date: Tue,  1 Dec 2026 07:00:05 +0000 (UTC)
From: MAILER-DAEMON@mail.example.net (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {to}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="{boundary}"
Content-Transfer-Encoding: 8bit
Message-Id: {report_id or _report_id()}

This is a MIME-encapsulated message.

--{boundary}
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<{recipient}>: host mx.example.org[192.0.2.25] said: 550 {status}
    <{recipient}>: Recipient address rejected: User unknown in virtual
    mailbox table (in reply to RCPT TO command)

--{boundary}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.net
X-Postfix-Queue-ID: 8A1F2C0461
X-Postfix-Sender: rfc822; {to}
Arrival-Date: Tue,  1 Dec 2026 07:00:01 +0000 (UTC)

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: failed
Status: {status}
Remote-MTA: dns; mx.example.org
Diagnostic-Code: smtp; 550 {status} <{recipient}>: Recipient address rejected:
    User unknown in virtual mailbox table

--{boundary}
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers
Content-Transfer-Encoding: 8bit

{original_headers(to=to, message_id=message_id, recipient=recipient)}
--{boundary}--
""")


def postfix_delayed(*, to: str, message_id: str, recipient: str = "ada@example.org", status: str = "4.4.1",
                    report_id: str | None = None) -> bytes:
    """Postfix's "Delayed Mail (still being retried)" warning."""
    boundary = "B2C3D40461.1764586805/mail.example.net"
    return _crlf(f"""Return-Path: <>
Delivered-To: {to}
Date: Tue,  1 Dec 2026 11:00:05 +0000 (UTC)
From: MAILER-DAEMON@mail.example.net (Mail Delivery System)
Subject: Delayed Mail (still being retried)
To: {to}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="{boundary}"
Message-Id: {report_id or _report_id()}

--{boundary}
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.example.net.

####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

Your message could not be delivered for more than 4 hour(s).
It will be retried until it is 5 day(s) old.

--{boundary}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.net
X-Postfix-Queue-ID: B2C3D40461
Arrival-Date: Tue,  1 Dec 2026 07:00:01 +0000 (UTC)

Final-Recipient: rfc822; {recipient}
Action: delayed
Status: {status}
Diagnostic-Code: X-Postfix; connect to mx.example.org[192.0.2.25]:25: Connection
    timed out
Will-Retry-Until: Sun,  6 Dec 2026 07:00:01 +0000 (UTC)

--{boundary}
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

{original_headers(to=to, message_id=message_id, recipient=recipient)}
--{boundary}--
""")


def exim_hard(*, to: str, message_id: str, recipient: str = "ada@example.org", truncated: bool = False,
              report_id: str | None = None) -> bytes:
    """Exim's bounce: Status 5.0.0 with the real code in the diagnostic; the returned message
    in full (``truncated``: cut short inside, as Exim does past ``bounce_return_size_limit``)."""
    boundary = "1764572405-eximdsn-1804289383"
    returned = original_message(to=to, message_id=message_id, recipient=recipient)
    if truncated:
        returned = returned[: returned.index("Hi Ada Li") + 5] + (
            "\n------ The body of the message is 98304 characters long; only the first\n"
            "------ 16384 or so are included here.\n"
        )
    return _crlf(f"""Return-path: <>
Envelope-to: {to}
Delivery-date: Tue, 01 Dec 2026 07:00:06 +0000
Received: from Debian-exim by mx.example.net with local (Exim 4.96)
\tid 1kABCD-0001Xy-Q9; Tue, 01 Dec 2026 07:00:06 +0000
X-Failed-Recipients: {recipient}
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@mx.example.net>
To: {to}
References: {message_id}
Content-Type: multipart/report; report-type=delivery-status; boundary={boundary}
MIME-Version: 1.0
Subject: Mail delivery failed: returning message to sender
Message-Id: {report_id or _report_id()}
Date: Tue, 01 Dec 2026 07:00:06 +0000

--{boundary}
Content-type: text/plain; charset=us-ascii

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {recipient}
    host mx.example.org [192.0.2.25]
    SMTP error from remote mail server after RCPT TO:<{recipient}>:
    550 5.1.1 <{recipient}>: User unknown

--{boundary}
Content-type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Action: failed
Final-Recipient: rfc822;{recipient}
Status: 5.0.0
Remote-MTA: dns; mx.example.org
Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: User unknown

--{boundary}
Content-type: message/rfc822

{returned}
--{boundary}--
""")


def gmail(*, to: str, message_id: str, recipient: str = "ada@gmail.com", action: str = "failed", status: str = "5.1.1",
          report_id: str | None = None) -> bytes:
    """Gmail's DSN: the human part is multipart/related (alternative text and HTML, an icon),
    the per-message block names the returned message in X-Original-Message-ID."""
    outer, related, alternative = "000000000000a1b2c3", "000000000000d4e5f6", "000000000000a7b8c9"
    headline = "Address not found" if action == "failed" else "Message not delivered yet"
    return _crlf(f"""Delivered-To: {to}
Return-Path: <>
Received: by mail-sor-f41.google.com with SMTP id a640c23a62f3a-4f3d;
        Tue, 01 Dec 2026 07:00:03 -0800 (PST)
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: {to}
Auto-Submitted: auto-replied
Subject: Delivery Status Notification ({"Failure" if action == "failed" else "Delay"})
References: {message_id}
In-Reply-To: {message_id}
X-Failed-Recipients: {recipient}
Message-ID: {report_id or _report_id()}
Date: Tue, 01 Dec 2026 07:00:03 -0800 (PST)
MIME-Version: 1.0
Content-Type: multipart/report; boundary="{outer}"; report-type=delivery-status

--{outer}
Content-Type: multipart/related; boundary="{related}"

--{related}
Content-Type: multipart/alternative; boundary="{alternative}"

--{alternative}
Content-Type: text/plain; charset="UTF-8"


** {headline} **

Your message wasn't delivered to {recipient} because the address couldn't be found, or is unable to receive mail.

Learn more here: https://support.google.com/mail/?p=NoSuchUser

--{alternative}
Content-Type: text/html; charset="UTF-8"

<html><head></head><body><table><tr><td><h1>{headline}</h1><p>Your message wasn't delivered to <a style='color:#212121;text-decoration:none'><b>{recipient}</b></a>.</p></td></tr></table></body></html>

--{alternative}--
--{related}
Content-Type: image/png; name="icon.png"
Content-Disposition: attachment; filename="icon.png"
Content-Transfer-Encoding: base64
Content-ID: <icon.png>

iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==
--{related}--
--{outer}
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Received-From-MTA: dns; mail.lanyard.example
Arrival-Date: Tue, 01 Dec 2026 07:00:01 -0800 (PST)
X-Original-Message-ID: {message_id}

Final-Recipient: rfc822; {recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; gmail-smtp-in.l.google.com. (2607:f8b0:4864:20::52f, the server for the domain gmail.com.)
Diagnostic-Code: smtp; 550-{status} The email account that you tried to reach does not exist. Please try
 550-{status} double-checking the recipient's email address for typos or
 550 {status} https://support.google.com/mail/?p=NoSuchUser a640c23a62f3a-4f3d
Last-Attempt-Date: Tue, 01 Dec 2026 07:00:03 -0800 (PST)

--{outer}
Content-Type: message/rfc822

{original_message(to=to, message_id=message_id, recipient=recipient)}
--{outer}--
""")


def rfc3464_multiple(
    *, to: str, message_id: str, recipient: str = "ada@example.org", report_id: str | None = None
) -> bytes:
    """After RFC 3464's appendix example: one report, a delivered and a failed recipient,
    headers-only return (text/rfc822-headers)."""
    boundary = "RAA14128.773615765/CS.UTK.EDU"
    return _crlf(f"""Date: Tue, 01 Dec 2026 07:00:05 -0500
From: Message Delivery Subsystem <MAILER-DAEMON@CS.UTK.EDU>
Subject: Returned mail: Cannot send message for 5 days
To: <{to}>
Message-Id: {report_id or _report_id()}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
    boundary="{boundary}"

--{boundary}

The original message was received at Sat, 26 Nov 2026 07:00:01 -0500
from root@localhost

    ----- The following addresses had delivery problems -----
<{recipient}>  (unrecoverable error)

--{boundary}
content-type: message/delivery-status

Reporting-MTA: dns; cs.utk.edu

Original-Recipient: rfc822;louisl@larry.slip.umd.edu
Final-Recipient: rfc822;louisl@larry.slip.umd.edu
Action: delivered
Status: 2.0.0

Original-Recipient: rfc822;{recipient}
Final-Recipient: rfc822;{recipient}
Action: failed
Status: 4.0.0
Diagnostic-Code: smtp; 426 connection timed out
Last-Attempt-Date: Thu, 1 Dec 2026 07:01:30 -0500

--{boundary}
content-type: text/rfc822-headers

{original_headers(to=to, message_id=message_id, recipient=recipient)}
--{boundary}--
""")


def rfc3464_delivered(*, to: str, message_id: str, recipient: str = "ada@example.org") -> bytes:
    """A success notification (Action: delivered): nothing to act on."""
    boundary = "JAA13167.773673707/CS.UTK.EDU"
    return _crlf(f"""Date: Tue, 01 Dec 2026 07:00:05 -0500
From: Message Delivery Subsystem <MAILER-DAEMON@cs.utk.edu>
Subject: Return receipt
To: <{to}>
Message-Id: {_report_id()}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
    boundary="{boundary}"

--{boundary}

The original message was received at Tue, 1 Dec 2026 07:00:01 -0500

--{boundary}
content-type: message/delivery-status

Reporting-MTA: dns; cs.utk.edu

Final-Recipient: rfc822;{recipient}
Action: delivered
Status: 2.1.5

--{boundary}--
""")


def arf(*, to: str, message_id: str, recipient: str = "ada@example.org", feedback_type: str = "abuse",
        report_id: str | None = None, mail_from: str | None = None) -> bytes:
    """RFC 5965's example report, about a digest: Original-Mail-From is the return path,
    the whole original message follows."""
    boundary = "part1_13d.2e68ed54_boundary"
    return _crlf(f"""From: <abusedesk@example.com>
Date: Thu, 03 Dec 2026 17:40:36 -0400
Subject: FW: Bob Ng is speaking at PyCon Lisbon
To: <fbl@lanyard.example>
Message-ID: {report_id or _report_id()}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
     boundary="{boundary}"

--{boundary}
Content-Type: text/plain; charset="US-ASCII"
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP
198.51.100.7 on Tue, 01 Dec 2026 07:00:02 +0000.  For more information
about this format please see http://www.mipassoc.org/arf/.

--{boundary}
Content-Type: message/feedback-report

Feedback-Type: {feedback_type}
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <{mail_from if mail_from is not None else to}>
Original-Rcpt-To: <{recipient}>
Arrival-Date: Tue, 01 Dec 2026 07:00:02 +0000
Reporting-MTA: dns; mail.example.com
Source-IP: 198.51.100.7
Authentication-Results: mail.example.com;
               spf=pass smtp.mail=digest@lanyard.example
Reported-Domain: lanyard.example
Removal-Recipient: {recipient}

--{boundary}
Content-Type: message/rfc822
Content-Disposition: inline

{original_message(to=to, message_id=message_id, recipient=recipient)}
--{boundary}--
""")


def yahoo_fbl(*, to: str, message_id: str, recipient: str = "ada@yahoo.example", report_id: str | None = None) -> bytes:
    """Yahoo's feedback loop: no Original-Mail-From, the recipient redacted; the return
    path is only in the quoted message's Return-Path."""
    boundary = "----=_Part_3427154_2045128491.1764806436000"
    headers = original_headers(to=to, message_id=message_id, recipient="redacted@yahoo.example")
    return _crlf(f"""From: feedbackloop@comcast.example
To: fbl@lanyard.example
Subject: Email Feedback Report for IP 198.51.100.7
Message-ID: {report_id or _report_id()}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
\tboundary="{boundary}"
X-HmXmrOriginalRecipient: <{recipient}>

------=_Part_3427154_2045128491.1764806436000
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message from lanyard.example on Thu, 03 Dec 2026 23:00:36 +0000

------=_Part_3427154_2045128491.1764806436000
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: Yahoo!-Mail-Feedback/2.0
Version: 0.1
Original-Rcpt-To: redacted@yahoo.example
Received-Date: Tue, 01 Dec 2026 07:00:02 +0000
Reported-Domain: lanyard.example
Authentication-Results: authentication result string is not available

------=_Part_3427154_2045128491.1764806436000
Content-Type: text/rfc822-headers

{headers}
------=_Part_3427154_2045128491.1764806436000--
""")


def qmail_plain(*, to: str, message_id: str, recipient: str = "ada@example.org") -> bytes:
    """An old-style plain-text bounce (qmail): not a report, so it is dropped."""
    return _crlf(f"""Return-Path: <>
Delivered-To: {to}
From: MAILER-DAEMON@mail.example.net
To: {to}
Subject: failure notice
Message-ID: {_report_id()}

Hi. This is the qmail-send program at mail.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<{recipient}>:
192.0.2.25 does not like recipient.
Remote host said: 550 5.1.1 User unknown

--- Below this line is a copy of the message.

{original_headers(to=to, message_id=message_id, recipient=recipient)}
""")


SHAPES = {
    "postfix": postfix_hard,
    "exim": exim_hard,
    "gmail": gmail,
    "rfc3464": rfc3464_multiple,
}
