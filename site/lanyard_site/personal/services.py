"""Writes of the signed-in person. Each is one transaction; the Redis graph hears of
follows and attendance after it commits (``events/graph_signals.py``), and with it the
next digest and the calendar."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import IntegrityError, router, transaction
from django.db.models import F

from ..events.models import Attendance, Event, Follow, Person
from ..mailing.models import Subscription


class ActionRefused(ValueError):
    """A write that makes no sense (following yourself); the message is for the person."""


def attendance_set(*, person: Person, event: Event, role: str) -> bool:
    """Attend, speak at or track an event; False when it already was so (nothing written)."""
    if role not in Attendance.Role.values:
        raise ActionRefused(f"{role!r} is not a way to take part in an event.")
    with transaction.atomic(using=router.db_for_write(Attendance)):
        attendance = Attendance.objects.select_for_update().filter(person=person, event=event).first()
        if attendance is None:
            try:
                with transaction.atomic(using=router.db_for_write(Attendance)):
                    Attendance.objects.create(person=person, event=event, role=role)
            except IntegrityError:  # a simultaneous click made it first
                return False
            return True
        if attendance.role == role:
            return False
        attendance.role = role
        attendance.save(update_fields=["role"])
        return True


def attendance_remove(*, person: Person, event: Event) -> bool:
    with transaction.atomic(using=router.db_for_write(Attendance)):
        removed = [a.delete() for a in Attendance.objects.filter(person=person, event=event)]
    return bool(removed)


def follow_create(*, follower: Person, followee: Person) -> bool:
    """Follow someone on the site (a ``manual`` follow); False when already following so (nothing written twice).

    A manual follow stands beside imported ones for the same pair and outlives them.
    """
    if follower.pk == followee.pk:
        raise ActionRefused("You cannot follow yourself.")
    try:
        with transaction.atomic(using=router.db_for_write(Follow)):
            _, created = Follow.objects.get_or_create(follower=follower, followee=followee, source=Follow.Source.MANUAL)
    except IntegrityError:  # a simultaneous click made it first
        return False
    return created


def follow_delete(*, follower: Person, followee: Person) -> bool:
    """Stop following: every source's row for the pair goes (an imported one comes back at the
    next refresh of that list if the account there still follows them)."""
    with transaction.atomic(using=router.db_for_write(Follow)):
        removed = [f.delete() for f in Follow.objects.filter(follower=follower, followee=followee)]
    return bool(removed)


def person_feed_reset(*, person: Person) -> None:
    """Revoke every calendar feed link of the person: their tokens name the old version."""
    Person.objects.filter(pk=person.pk).update(feed_version=F("feed_version") + 1)
    person.refresh_from_db(fields=["feed_version"])


@dataclass(frozen=True)
class ProfileChange:
    name: str
    handle: str
    bio: str
    avatar_url: str
    timezone: str
    list_name: str  # "daily" | "weekly"
    send_hour: int


def person_update_profile(*, person: Person, change: ProfileChange, email: str) -> Subscription | None:
    """Save the profile and the digest settings of the person's subscription (made, to
    ``email``, when they have none and an address is known)."""
    with transaction.atomic(using=router.db_for_write(Person)):
        person.name, person.handle, person.bio, person.avatar_url, person.timezone = (
            change.name,
            change.handle,  # a changed one leaves the old in the slug history: its links answer 301
            change.bio,
            change.avatar_url,
            change.timezone,
        )
        person.save(update_fields=["name", "handle", "bio", "avatar_url", "timezone"])
        subscription = person.subscriptions.order_by("pk").first()
        if subscription is None:
            if not email:
                return None
            return Subscription.objects.create(
                person=person, email=email, list=change.list_name, send_hour=change.send_hour
            )
        subscription.list, subscription.send_hour = change.list_name, change.send_hour
        subscription.save(update_fields=["list", "send_hour", "updated_at"])
        return subscription


def person_sign_up(
    *, username: str, password: str, email: str, name: str, handle: str = "", list_name: str | None = "daily"
) -> Person:
    """A new user with a lanyard profile (a blank handle is made from the name, as every handle is) and
    the digest they chose (``list_name`` None: none)."""
    with transaction.atomic(using=router.db_for_write(Person)):
        user = User.objects.create_user(username=username, password=password, email=email)
        person = Person.objects.create(user=user, name=name, handle=handle)
        if list_name:
            Subscription.objects.create(person=person, email=email, list=list_name)
    return person


def person_create(*, user: User, name: str, handle: str = "") -> Person:
    """A lanyard profile for an account that has none (blank handle: made from the name), with a
    daily digest to the account's address when it has one."""
    with transaction.atomic(using=router.db_for_write(Person)):
        person = Person.objects.create(user=user, name=name, handle=handle)
        if user.email:
            Subscription.objects.create(person=person, email=user.email, list=Subscription.List.DAILY)
    return person
