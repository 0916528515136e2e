"""'Signed in as' from a signed cookie, "without any trips to storage".

At login a signed cookie records who signed in (person id, name, handle); at logout it is
cleared. Pages read ``request.signed_in`` from it, so a page that only shows the bar (and
the people-first marks, which need just the person id) makes no session or user query.
The cookie is only ever a display hint: every write checks the real session
(``request.user``), and a write that finds the session gone clears the cookie.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.core.signing import BadSignature
from django.http import HttpRequest, HttpResponse

COOKIE = "lanyard_signed_in"
SALT = "lanyard.signed-in"
_UNSET = object()


@dataclass(frozen=True, slots=True)
class SignedIn:
    person_id: int | None  # None: a user without a lanyard profile (an admin, say)
    name: str
    handle: str
    # Hints, so that only these requests check request.user: superuser for the profiler
    # (lanyard_site.ops), staff for the coverage block's "Remove" on others' links.
    superuser: bool = False
    staff: bool = False


def signed_in(request: HttpRequest) -> SignedIn | None:
    return getattr(request, "signed_in", None)


def remember(request: HttpRequest, user) -> SignedIn:
    """Have the response set the cookie for ``user`` (at login, or after a profile change)."""
    person = getattr(user, "person", None) if user is not None else None
    superuser = bool(user is not None and user.is_superuser)
    staff = bool(user is not None and user.is_staff)
    if person is not None:
        value = SignedIn(person.pk, person.name, person.handle, superuser, staff)
    else:
        value = SignedIn(None, user.get_username(), "", superuser, staff)
    _mark(request, signed_in=value, _signed_in_change=value)
    return value


def forget(request: HttpRequest) -> None:
    _mark(request, signed_in=None, _signed_in_change=None)


def _mark(request: HttpRequest, **values: SignedIn | None) -> None:
    """Set this app's attributes of the request (``signed_in``; ``_signed_in_change`` for the
    middleware's response), which Django's HttpRequest type does not declare."""
    vars(request).update(values)


class SignedInMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        _mark(request, signed_in=_read(request))
        response = self.get_response(request)
        change = getattr(request, "_signed_in_change", _UNSET)
        if change is None:
            response.delete_cookie(COOKIE, samesite="Lax")
        elif isinstance(change, SignedIn):  # else _UNSET: the cookie stays as it is
            response.set_signed_cookie(
                COOKIE,
                json.dumps(asdict(change), separators=(",", ":")),
                salt=SALT,
                max_age=settings.SESSION_COOKIE_AGE,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response


def _read(request: HttpRequest) -> SignedIn | None:
    try:
        raw = request.get_signed_cookie(COOKIE, salt=SALT, max_age=settings.SESSION_COOKIE_AGE)
    except (KeyError, BadSignature):
        return None
    if raw is None:  # only with a default, which is not given: the stubs allow it
        return None
    try:
        data = json.loads(raw)
        person_id = data["person_id"]
        if person_id is not None and (not isinstance(person_id, int) or isinstance(person_id, bool)):
            return None
        return SignedIn(person_id, str(data["name"]), str(data["handle"]), data.get("superuser") is True,
                        data.get("staff") is True)
    except (ValueError, KeyError, TypeError):
        return None  # signed by us but of an older shape: as if signed out until the next login


def context(request: HttpRequest) -> dict:
    """Template context processor: ``signed_in`` for the bar, and the people-first hooks'
    variables empty until a page's tags fill them (shared templates name them everywhere)."""
    return {"signed_in": signed_in(request), "followed": None, "followed_going": None, "calendar_followed": None}


def _logged_in(sender, request, user, **kwargs) -> None:
    if request is not None:
        remember(request, user)


def _logged_out(sender, request, user, **kwargs) -> None:
    if request is not None:
        forget(request)


def connect() -> None:
    user_logged_in.connect(_logged_in, dispatch_uid="personal_signed_in_cookie")
    user_logged_out.connect(_logged_out, dispatch_uid="personal_signed_out_cookie")
