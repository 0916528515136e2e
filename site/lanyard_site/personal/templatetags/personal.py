"""Template tags that put the people you follow first on any page, from the Redis graph.

They read who is signed in from the signed cookie (``signed_in`` in the context), so a
page using them adds no session or user query. Each tag is one Redis round trip for
what a page shows (a whole list of events at once); the graph being away (or not built
yet) makes them answer "nobody", never a broken page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from html import escape as _e  # Django's escape() adds a lazy-string check to each call
from typing import TypeVar

import redis
from django import template
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from digest.errors import GraphMissing

from ...events.templatetags.lanyard import avatar
from ...links import path_to
from ...ops.degraded import graph_away
from .. import selectors

register = template.Library()
log = logging.getLogger(__name__)
T = TypeVar("T")


def _me(context) -> int | None:
    who = context.get("signed_in")
    return who.person_id if who is not None else None


def _graph_read(read: Callable[[], T], fallback: T) -> T:
    try:
        return read()
    except (redis.RedisError, GraphMissing) as error:
        graph_away(error)
        return fallback


@register.simple_tag(takes_context=True)
def followed_at_event(context, event) -> selectors.FollowedHere:
    """``{% followed_at_event event as followed %}``: SINTER follows:<me> attendees:<event>."""
    me = _me(context)
    return _graph_read(lambda: selectors.followed_at_event(me, event), selectors.NOBODY)


@register.simple_tag(takes_context=True)
def followed_among(context, people: Iterable) -> selectors.FollowedHere:
    """``{% followed_among talk.speakers.all as followed %}``: which of these people I follow."""
    me = _me(context)
    people = list(people)
    return _graph_read(lambda: selectors.followed_among(me, people), selectors.NOBODY)


@register.simple_tag(takes_context=True)
def going_counts(context, *lists: Iterable) -> dict[int, int]:
    """``{% going_counts page other_list as followed_going %}``: per event of the page's
    lists, how many people I follow go, in one Redis call."""
    me = _me(context)
    if me is None:
        return {}
    ids = [getattr(e, "pk", e) for events in lists if events for e in events]
    return _graph_read(lambda: selectors.followed_going_counts(me, ids), {})


@register.simple_tag(takes_context=True)
def my_part(context, event) -> selectors.EventPart:
    """``{% my_part event as part %}``: my role at the event and whether I may say I speak (database reads)."""
    return selectors.event_part(_me(context), event, timezone.localdate())


@register.filter
def count_for(counts: dict[int, int], event) -> int:
    return counts.get(getattr(event, "pk", event), 0) if counts else 0


@register.filter
def followed_first(people: Iterable, followed) -> list:
    """The people with those followed first; unchanged where the page computed no ``followed``."""
    if not isinstance(followed, selectors.FollowedHere):
        return list(people)
    return selectors.followed_first(list(people), followed)


@register.filter
def is_followed(person, followed) -> bool:
    return isinstance(followed, selectors.FollowedHere) and person.pk in followed.ids


@register.simple_tag
def person_chip(person, followed=None, note: str = "") -> SafeString:
    """``{% person_chip person followed note %}``: a person's ``<li>`` in a people list, marked
    when followed. A tag rather than an include: lists show dozens (a template render each);
    built with the standard library's escape, as ``avatar`` is."""
    meta = f'<span class="meta">{conditional_escape(note)}</span>' if note else ""
    return mark_safe(
        f'<li class="person-chip{" followed" if is_followed(person, followed) else ""}">'
        f'<a href="{_e(path_to("person", person.handle))}">{avatar(person)}'
        f'<span class="person-name">{_e(person.name)}</span></a>{meta}</li>'
    )


@register.simple_tag(takes_context=True)
def following(context, person) -> bool:
    me = _me(context)
    return _graph_read(lambda: selectors.is_following(me, person.pk), False)


@register.filter
def attendance_events(attendances: Iterable) -> list:
    """The events of a list of attendances (a person page's), for ``going_counts``."""
    return [a.event for a in attendances]
