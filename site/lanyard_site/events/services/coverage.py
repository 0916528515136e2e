"""Writes of coverage from the site: a pasted link, stored at once and fetched after commit;
a link removed by its author (or staff), audited."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from functools import partial
from typing import cast

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from digest.vocabulary import CoverageStatus

from ...ops.models import OpsChange
from ...stores import scheduler_enqueue
from ..models import Coverage, Event, Person, Session

log = logging.getLogger(__name__)


def coverage_paste(*, url: str, added_by: Person, session: Session | None = None, event: Event | None = None,
                   kind: str = "") -> Coverage:
    """Store a link (titled by its URL, ``fetching``) and send the fetch task once it commits."""
    coverage = Coverage.objects.create(
        url=url, title=url[:300], kind=kind, session=session, event=None if session else event,
        status=CoverageStatus.FETCHING, added_by=added_by,
    )
    transaction.on_commit(lambda: _send_fetch(coverage.pk))
    return coverage


def coverage_refetch(*, coverage_ids: list[int]) -> int:
    """Fetch these links again from scratch (the admin's action): no validators, status fetching."""
    rows = Coverage.objects.filter(pk__in=coverage_ids)
    count = rows.update(status=CoverageStatus.FETCHING, failure="", etag="", last_modified="")
    coverage_touch_events(coverages=rows.only("event_id", "session_id"))
    for coverage_id in coverage_ids:
        transaction.on_commit(partial(_send_fetch, coverage_id))
    return count


def coverage_remove(*, coverage: Coverage, removed_by: str) -> None:
    """Delete the link and record who removed what in the audit trail (``ops_change``, via
    ``site``), in one transaction. The search signals drop its document after commit."""
    # Without a talk it has an event (the coverage_has_event_or_session constraint).
    on = f"talk {coverage.session_id}" if coverage.session_id else f"event {cast(Event, coverage.event).slug}"
    removed = {"url": coverage.url, "title": coverage.title, "on": on, "status": coverage.status,
               "added_by": coverage.added_by.handle if coverage.added_by else None}
    with transaction.atomic():
        OpsChange.objects.create(
            name=f"coverage:{coverage.pk}"[:64], old_value=json.dumps(removed), new_value=json.dumps(None),
            changed_by=removed_by[:150], via=OpsChange.Via.SITE, changed_at=timezone.now(),
        )
        coverage.delete()


def coverage_touch_events(*, coverages: Iterable[Coverage], using: str | None = None) -> None:
    """Touch the events these coverage rows are about (their own, or their talks') and the
    talks' speakers: event and person pages keep their coverage block under the row's
    cache_version for visitors.
    ``using``: the database a signal names (else the router's choice)."""
    coverages = list(coverages)
    own = [c.event_id for c in coverages if c.event_id]
    talks = [c.session_id for c in coverages if c.session_id]
    Event.objects.db_manager(using).filter(
        Q(pk__in=own) | Q(pk__in=Session.objects.db_manager(using).filter(pk__in=talks).values("event_id"))
    ).touch()
    if talks:  # a person page keeps the coverage of their talks the same way
        speakers = Session.speakers.through.objects.db_manager(using).filter(session_id__in=talks)
        Person.objects.db_manager(using).filter(pk__in=speakers.values("person_id")).touch()


def _send_fetch(coverage_id: int) -> None:
    try:
        scheduler_enqueue().coverage_fetch(coverage_id, retry=False)
    except Exception as error:  # the row waits as "fetching"; the revalidation task sends it again
        log.warning("could not queue the fetch of coverage %s (%s); revalidation will", coverage_id, error)
