"""Reads of people's accounts on other networks."""

from __future__ import annotations

from ..events.models import Person
from .models import Account

SHOWN = 20  # accounts listed for one person


def verified_accounts(person: Person) -> list[Account]:
    """The person's accounts that were verified as theirs (the only ones shown publicly), by provider."""
    return list(Account.objects.filter(person=person, verified=True).order_by("provider", "handle", "pk")[:SHOWN])
