"""Mail that comes back: bounce (RFC 3464 DSN) and complaint (RFC 5965 ARF) processing.

* :mod:`.verp` builds each digest's signed return path (``bounces+<token>@<domain>``)
  and finds the token again in what comes back;
* :mod:`.reports` parses a report with the standard library's ``email`` package and
  refuses what is not one (too large, not ``multipart/report``, a truncated tree);
* :mod:`.classify` turns a report into a verdict: hard bounce (5.x.x), soft bounce
  (4.x.x), complaint, or nothing to act on;
* :mod:`.process` matches a report to its delivery (the return path, else the quoted
  Message-ID in the ledger) and records the decision: the delivery row, a
  ``delivery_feedback`` row of its own, the subscription's status, the suppression set;
* :mod:`.sources` reads reports from a maildir or an IMAP mailbox, :mod:`.listener`
  takes them over SMTP as they arrive (aiosmtpd).
"""
