"""A talk's page."""

from __future__ import annotations

from ..models import Session
from .event import event_zone


def talk_detail(talk_id: int, *, speakers: bool = True) -> Session | None:
    """The talk with its event and (``speakers``) its speakers prefetched; ``local_start`` is
    its start in the event's timezone. (Its coverage is the {% coverage_for %} block's.) The
    API reads the speakers from the per-process rows cache instead (rows.talk_speakers)."""
    rows = Session.objects.select_related("event")
    talk = (rows.prefetch_related("speakers") if speakers else rows).filter(pk=talk_id).first()
    if talk is not None:
        talk.local_start = talk.starts_at.astimezone(event_zone(talk.event)) if talk.starts_at else None
    return talk
