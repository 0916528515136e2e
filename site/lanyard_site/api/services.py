"""Writes of personal API tokens: made and revoked by their person (on the profile page).
A token is ``lanyard_`` and 43 URL-safe characters (256 random bits); only its SHA-256 is kept."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db import router, transaction
from django.utils import timezone

from ..events.models import Person
from .models import ApiToken

TOKEN_PREFIX = "lanyard_"
MAX_TOKENS = 20  # live tokens per person
TOUCH_EVERY = dt.timedelta(hours=1)  # last_used_at is written at most this often


class TokenRefused(ValueError):
    """A token that cannot be made (too many, no name); the message is for the person."""


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def api_token_create(*, person: Person, name: str) -> tuple[ApiToken, str]:
    """A new token for ``person``: its row and the token itself, which is never stored."""
    name = " ".join(name.split())[:100]
    if not name:
        raise TokenRefused("Give the token a name, e.g. the program that will use it.")
    with transaction.atomic(using=router.db_for_write(ApiToken)):
        live = ApiToken.objects.select_for_update().filter(person=person, revoked_at__isnull=True)
        if len(live) >= MAX_TOKENS:
            raise TokenRefused(f"You have {MAX_TOKENS} tokens already; revoke one first.")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = ApiToken.objects.create(person=person, name=name, digest=token_digest(token), prefix=token[:12])
    return row, token


def api_token_revoke(*, person: Person, token_id: int) -> bool:
    """Revoke one of the person's tokens; False when it is not theirs or already revoked."""
    return bool(
        ApiToken.objects.filter(pk=token_id, person=person, revoked_at__isnull=True).update(revoked_at=timezone.now())
    )


def api_token_touch(*, token: ApiToken) -> None:
    """Record that the token was used (once an hour at most: a write per request would cost too much)."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
