"""Reads of personal API tokens: a presented token found by its SHA-256, a person's live tokens."""

from __future__ import annotations

from ..events.models import Person
from .models import ApiToken
from .services import TOKEN_PREFIX, token_digest


def api_token_find(token: str) -> ApiToken | None:
    """The live token row of a presented token, with its person; None for anything else."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    return (
        ApiToken.objects.select_related("person").filter(digest=token_digest(token), revoked_at__isnull=True).first()
    )


def api_tokens_of(person: Person) -> list[ApiToken]:
    return list(ApiToken.objects.filter(person=person, revoked_at__isnull=True).order_by("-created_at", "-pk"))
