"""A talk's page."""

from __future__ import annotations

from ..models import Session
from .event import event_zone


def talk_detail(talk_id: int) -> Session | None:
    """The talk with its event and speakers; ``local_start`` is its start in the event's
    timezone. (Its coverage is the {% coverage_for %} block's.)"""
    talk = Session.objects.select_related("event").prefetch_related("speakers").filter(pk=talk_id).first()
    if talk is not None:
        talk.local_start = talk.starts_at.astimezone(event_zone(talk.event)) if talk.starts_at else None
    return talk
