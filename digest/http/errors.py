"""What can go wrong with an outgoing request, each with the reason a person is shown."""

from __future__ import annotations


class HttpError(Exception):
    """A request that did not give a usable answer; ``reason`` is one short phrase."""

    outcome = "failed"
    temporary = False  # True: the same request may well work later (retry with backoff)

    def __init__(self, reason: str, *, temporary: bool | None = None):
        super().__init__(reason)
        self.reason = reason
        if temporary is not None:
            self.temporary = temporary


class Refused(HttpError):
    """The request breaks a rule (scheme, port, address) and was not made."""

    outcome = "refused"


class TimedOut(HttpError):
    """A timeout or the request's total deadline passed."""

    outcome = "timed out"
    temporary = True


class TooLarge(HttpError):
    """The (decoded) body is bigger than the cap for its type."""

    outcome = "too large"


class Failed(HttpError):
    """Anything else: connection refused or reset, bad TLS, a malformed response."""
