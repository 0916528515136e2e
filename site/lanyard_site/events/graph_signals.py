"""Keep the Redis graph in step with site writes, after the transaction commits.

A rolled-back write never reaches Redis, because the edit is handed to
``transaction.on_commit``. Bulk writes that bypass signals (``bulk_create``,
``QuerySet.update``) are followed by ``lanyard graph rebuild``, as the seeder does.
If Redis is down at commit time the write still stands in the database; the failure is
logged and ``lanyard graph check`` reports the drift until a rebuild mends it.
"""

import logging
from functools import partial

from django.db import transaction
from django.db.models.signals import post_delete, post_init, post_save

from digest.graph import store as g

from .. import stores
from .models import Attendance, Event, Follow, Person

log = logging.getLogger(__name__)


def apply_after_commit(edits, using):
    if edits:
        transaction.on_commit(partial(_apply, edits), using=using)


def _apply(edits):
    try:
        stores.graph().apply(edits)
    except Exception:  # never fail a committed request over the denormalised copy
        log.exception("could not update the Redis graph; run `lanyard graph check`")


def follow_saved(sender, instance, created, using, **kwargs):
    apply_after_commit(g.follow_added(instance.follower_id, instance.followee_id), using)


def follow_deleted(sender, instance, using, **kwargs):
    # A pair can be followed from several sources (one row each): it leaves the graph
    # only with its last row. post_delete runs after the row's DELETE, in the transaction.
    others = Follow.objects.using(using).filter(follower_id=instance.follower_id, followee_id=instance.followee_id)
    if not others.exists():
        apply_after_commit(g.follow_removed(instance.follower_id, instance.followee_id), using)


def attendance_saved(sender, instance, using, **kwargs):
    start_date = Event.objects.using(using).values_list("start_date", flat=True).get(pk=instance.event_id)
    apply_after_commit(g.attendance_set(instance.person_id, instance.event_id, instance.role, start_date), using)


def attendance_deleted(sender, instance, using, **kwargs):
    apply_after_commit(g.attendance_removed(instance.person_id, instance.event_id), using)


def event_initialised(sender, instance, **kwargs):
    # Read from __dict__: touching a deferred field here would query the database.
    instance._graph_start_date = instance.__dict__.get("start_date")


def event_saved(sender, instance, created, using, **kwargs):
    if not created and instance._graph_start_date not in (None, instance.start_date):
        attendee_ids = list(
            Attendance.objects.using(using)
            .filter(event_id=instance.pk, role__in=g.GRAPH_ROLES)
            .values_list("person_id", flat=True)
        )
        apply_after_commit(g.event_moved(instance.pk, instance.start_date, attendee_ids), using)
    instance._graph_start_date = instance.start_date


def event_deleted(sender, instance, using, **kwargs):
    # Attendance rows are deleted by the cascade first, each sending its own edits.
    apply_after_commit(g.event_removed(instance.pk, []), using)


def person_deleted(sender, instance, using, **kwargs):
    apply_after_commit(g.person_removed(instance.pk), using)


def connect():
    post_save.connect(follow_saved, sender=Follow, dispatch_uid="graph_follow_saved")
    post_delete.connect(follow_deleted, sender=Follow, dispatch_uid="graph_follow_deleted")
    post_save.connect(attendance_saved, sender=Attendance, dispatch_uid="graph_attendance_saved")
    post_delete.connect(attendance_deleted, sender=Attendance, dispatch_uid="graph_attendance_deleted")
    post_init.connect(event_initialised, sender=Event, dispatch_uid="graph_event_initialised")
    post_save.connect(event_saved, sender=Event, dispatch_uid="graph_event_saved")
    post_delete.connect(event_deleted, sender=Event, dispatch_uid="graph_event_deleted")
    post_delete.connect(person_deleted, sender=Person, dispatch_uid="graph_person_deleted")
