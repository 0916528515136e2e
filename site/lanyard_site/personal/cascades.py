"""cache_version cascades: a change shows at once on every cached fragment that shows it.

A fragment's cache key carries the ``cache_version`` of the row it is about. What it
also shows of *other* rows (an event page shows its topics' names, its speakers' names)
is made fresh by bumping the versions of the rows listing them, each kind in one UPDATE:
renaming a topic touches its events; renaming a person touches the events they attend or
speak at and the talks they give; an event given or losing a topic touches both (a topic's
page keeps which events it lists). An event's page also keeps its schedule and its people
lists under its version, so a talk saved or deleted, its speakers changed, and an
attendance added, changed or removed touch the event. A person's page keeps their talks
and past events under the person's version, so the same changes touch the people
concerned (the talk's speakers, the attendee), and so does an event's new name, dates
or place (its speakers and attendees), and an account linked, changed or unlinked (the
person's). Coverage saved or deleted touches its event (its
own or its talk's): the page keeps the coverage block for visitors not signed in; the link
fetcher's writes touch it too (digest/coverage/store.py). ``QuerySet.update`` writes bypass these signals,
as they bypass ``save()``; follow them with ``touch()``.
"""

from __future__ import annotations

from django.db.models import Q
from django.db.models.signals import m2m_changed, post_delete, post_init, post_save, pre_delete

from ..accounts.models import Account
from ..events.models import Attendance, Coverage, Event, Person, Session, Topic
from ..events.services.coverage import coverage_touch_events

# m2m actions that change what a row shows; a clear is seen before it, while the rows
# it empties can still be found.
CHANGES = ("post_add", "post_remove", "pre_clear")
# The fields of each model that other rows' fragments show.
SHOWN_ELSEWHERE = {
    Topic: ("name", "slug"),
    Person: ("name", "handle", "avatar_url"),
    Event: ("name", "slug", "start_date", "end_date", "city", "country"),  # on its people's pages
}


def _remember(sender, instance, **kwargs) -> None:
    # From __dict__: reading a deferred field here would query the database.
    instance._shown_elsewhere = tuple(instance.__dict__.get(f) for f in SHOWN_ELSEWHERE[sender])


def _saved(sender, instance, created, using, **kwargs) -> None:
    before = instance._shown_elsewhere
    instance._shown_elsewhere = tuple(getattr(instance, f) for f in SHOWN_ELSEWHERE[sender])
    if created or before == instance._shown_elsewhere or None in before:
        return
    if sender is Topic:
        Event.objects.using(using).filter(topics=instance).touch()
    elif sender is Event:
        _event_people(using, instance.pk).touch()
    else:
        sessions = Session.objects.using(using).filter(speakers=instance)
        # Without a join in the UPDATE: its events as a speaker of talks and as an attendee.
        Event.objects.using(using).filter(
            Q(pk__in=Attendance.objects.using(using).filter(person=instance).values("event_id"))
            | Q(pk__in=sessions.values("event_id"))
        ).touch()
        sessions.touch()


def _topics_changed(*, instance, action, reverse, pk_set, using, **kwargs) -> None:
    """The events shown with their topics, and the topics whose pages list their events
    (events/selectors/topics.py keeps which ones under the topic's cache_version)."""
    if action not in CHANGES:
        return
    events, topics = Event.objects.using(using), Topic.objects.using(using)
    if reverse:  # topic.events.add(...): the events named by pk_set (all of the topic's, before a clear)
        (events.filter(pk__in=pk_set) if pk_set else events.filter(topics=instance)).touch()
        topics.filter(pk=instance.pk).touch()
    else:
        events.filter(pk=instance.pk).touch()
        (topics.filter(pk__in=pk_set) if pk_set else topics.filter(events=instance)).touch()


def _speakers_changed(*, instance, action, reverse, pk_set, using, **kwargs) -> None:
    """The talks, and the events whose schedules name their speakers."""
    if action not in CHANGES:
        return
    sessions = Session.objects.using(using)
    if reverse:  # person.sessions.add(...)
        sessions = sessions.filter(pk__in=pk_set) if pk_set else sessions.filter(speakers=instance)
    else:
        sessions = sessions.filter(pk=instance.pk)
    Event.objects.using(using).filter(pk__in=sessions.values("event_id")).touch()
    sessions.touch()
    people = Person.objects.using(using)
    if reverse:
        people.filter(pk=instance.pk).touch()
    else:
        (people.filter(pk__in=pk_set) if pk_set else people.filter(sessions=instance)).touch()


def _event_content_changed(sender, instance, using, **kwargs) -> None:
    """A talk or an attendance saved or deleted: its event's schedule or people lists,
    and the attendee's page (a talk's speakers: see ``_talk_changed``)."""
    Event.objects.using(using).filter(pk=instance.event_id).touch()
    if sender is Attendance:
        Person.objects.using(using).filter(pk=instance.person_id).touch()


def _account_changed(sender, instance, using, **kwargs) -> None:
    """An account linked, changed or unlinked: its person's page lists their accounts
    (kept per process under the person's version: events/selectors/people.py). The
    workers' writes through SQLAlchemy touch the person too (digest/accounts)."""
    Person.objects.using(using).filter(pk=instance.person_id).touch()


def _coverage_changed(sender, instance, using, **kwargs) -> None:
    """Coverage saved or deleted: the event page's coverage block (kept for visitors)."""
    coverage_touch_events(coverages=[instance], using=using)


def _talk_changed(sender, instance, using, **kwargs) -> None:
    """A talk saved (title, time, event) or about to be deleted (its speaker rows go
    first, without m2m signals): its speakers' pages."""
    if not kwargs.get("created"):
        Person.objects.using(using).filter(sessions=instance).touch()


def _event_people(using: str, event_id: int):
    """The people at an event, attending or speaking at one of its talks (subqueries: no
    join in the UPDATE)."""
    attendees = Attendance.objects.using(using).filter(event_id=event_id).values("person_id")
    speakers = Session.speakers.through.objects.using(using).filter(session__event_id=event_id).values("person_id")
    return Person.objects.using(using).filter(Q(pk__in=attendees) | Q(pk__in=speakers))


def connect() -> None:
    for model in SHOWN_ELSEWHERE:
        post_init.connect(_remember, sender=model, dispatch_uid=f"cascade_remember_{model.__name__}")
        post_save.connect(_saved, sender=model, dispatch_uid=f"cascade_saved_{model.__name__}")
    m2m_changed.connect(_topics_changed, sender=Event.topics.through, dispatch_uid="cascade_event_topics")
    m2m_changed.connect(_speakers_changed, sender=Session.speakers.through, dispatch_uid="cascade_session_speakers")
    for content in (Session, Attendance):
        for signal, when in ((post_save, "saved"), (post_delete, "deleted")):
            signal.connect(_event_content_changed, sender=content, dispatch_uid=f"cascade_{content.__name__}_{when}")
    post_save.connect(_talk_changed, sender=Session, dispatch_uid="cascade_talk_speakers_saved")
    post_save.connect(_account_changed, sender=Account, dispatch_uid="cascade_account_saved")
    post_delete.connect(_account_changed, sender=Account, dispatch_uid="cascade_account_deleted")
    post_save.connect(_coverage_changed, sender=Coverage, dispatch_uid="cascade_coverage_saved")
    post_delete.connect(_coverage_changed, sender=Coverage, dispatch_uid="cascade_coverage_deleted")
    pre_delete.connect(_talk_changed, sender=Session, dispatch_uid="cascade_talk_speakers_deleted")
