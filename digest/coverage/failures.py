"""Why a pasted link could not be read, in plain words: the guarded client's errors sorted
into :class:`~digest.vocabulary.LinkFailure` reasons, and what a person is shown for each.

The client's own reason (``[Errno -2] Name or service not known``) stays in its log line;
the row keeps the reason's code and the page says the words.
"""

from __future__ import annotations

import errno
import re

from digest.http import Failed, HttpError, Refused, TimedOut, TooLarge
from digest.vocabulary import LinkFailure

WORDS: dict[LinkFailure, str] = {
    LinkFailure.NOT_FOUND: "the address could not be found (no such site)",
    LinkFailure.TIMED_OUT: "the site took too long to answer",
    LinkFailure.CONNECTION_REFUSED: "the site refused the connection",
    LinkFailure.CONNECTION_FAILED: "the connection to the site failed",
    LinkFailure.TLS: "the site's secure connection (its certificate) could not be verified",
    LinkFailure.TOO_LARGE: "the page is too large to read",
    LinkFailure.TOO_MANY_REDIRECTS: "the address redirects too many times",
    LinkFailure.MALFORMED: "the site's answer could not be read",
    LinkFailure.PAGE_MISSING: "the site says there is no such page",
    LinkFailure.FORBIDDEN: "the site does not let lanyard read the page",
    LinkFailure.SITE_ERROR: "the site had an error; lanyard tries again later",
    LinkFailure.BUSY: "the site asked lanyard to slow down",
    LinkFailure.HTTP_ERROR: "the site did not answer with a page",
    LinkFailure.PRIVATE_ADDRESS: "it points at a private or local network address, which lanyard never fetches",
    LinkFailure.PORT: "it uses a port other than the web's usual ones (80 and 443)",
    LinkFailure.NOT_A_WEB_ADDRESS: "it is not an http:// or https:// web address",
}
UNKNOWN = "the link could not be read"  # a reason written before these were (or by hand)

_STATUS = re.compile(r"HTTP (\d{3})$")
_REFUSED_CONNECTION = re.compile(rf"\[Errno {errno.ECONNREFUSED}\]|connection refused", re.I)


def failure_of(error: HttpError) -> LinkFailure:
    """The one reason an error of the guarded client (``digest/http``) stands for."""
    reason = error.reason
    if isinstance(error, Refused):
        if reason.startswith("address not allowed"):
            return LinkFailure.PRIVATE_ADDRESS
        if reason.startswith("port "):
            return LinkFailure.PORT
        return LinkFailure.NOT_A_WEB_ADDRESS
    if isinstance(error, TimedOut):
        return LinkFailure.TIMED_OUT
    if isinstance(error, TooLarge):
        return LinkFailure.TOO_LARGE
    status = _STATUS.match(reason)
    if isinstance(error, Failed) and status:
        return _http_status(int(status.group(1)))
    if "cannot resolve" in reason:
        return LinkFailure.NOT_FOUND
    if reason.startswith("TLS failed"):
        return LinkFailure.TLS
    if reason.startswith("too many redirects"):
        return LinkFailure.TOO_MANY_REDIRECTS
    if reason.startswith(("malformed", "unsupported content encoding")):
        return LinkFailure.MALFORMED
    if _REFUSED_CONNECTION.search(reason):
        return LinkFailure.CONNECTION_REFUSED
    return LinkFailure.CONNECTION_FAILED


def _http_status(status: int) -> LinkFailure:
    if status in (404, 410):
        return LinkFailure.PAGE_MISSING
    if status in (401, 403, 451):
        return LinkFailure.FORBIDDEN
    if status == 429:
        return LinkFailure.BUSY
    if status >= 500:
        return LinkFailure.SITE_ERROR
    return LinkFailure.HTTP_ERROR


def failure_words(stored: str) -> str:
    """What a person is shown for a row's ``failure``."""
    try:
        return WORDS[LinkFailure(stored)]
    except ValueError:
        return UNKNOWN
