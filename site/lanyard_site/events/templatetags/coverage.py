"""``{% coverage_for talk %}``: the coverage block of a talk, event, person or topic page.

One line in each page's template: the list (with lanyard's own iframe for allowed embeds
on a talk page), "fetching…", why it failed or was refused (in words) and a "Remove" link
for the person who pasted a link (refused links are shown to them alone; staff may remove
any), and on talk and event pages the paste form for signed-in people.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import template

from digest.coverage.failures import failure_words
from digest.embeds import PROVIDERS
from digest.vocabulary import CoverageStatus

from ...ops.services import flag_active
from ...personal.signin import signed_in
from ...personal.views import current_person_id
from ..models import Coverage, Event, Person, Session, Topic
from ..selectors.coverage import coverage_of

register = template.Library()


@dataclass(frozen=True)
class CoverageItem:
    coverage: Coverage
    embed_src: str  # "" unless the provider is allowed and the id valid
    embed_aspect: str
    provider_label: str
    mine: bool  # the person looking pasted it: show its fetch status
    removable: bool  # theirs, or the person looking is staff
    failure: str  # why it failed or was refused, in words (shown to its author only)


def _is_staff(request) -> bool:
    """Staff may remove anyone's link. The signed-in cookie's hint spares every other page a
    session and user query; the removal itself checks the real session (events.paste)."""
    hint = signed_in(request) if request is not None else None
    if hint is None or not hint.staff:
        return False
    return bool(request.user.is_authenticated and request.user.is_staff)


@register.simple_tag(takes_context=True)
def coverage_is_shared(context: template.Context) -> bool:
    """``{% coverage_is_shared as shared %}``: the coverage block looks the same to this
    viewer as to everyone not signed in (no links of theirs, no "Remove", no paste form),
    so a page may keep it in its cached fragment."""
    request = context.get("request")
    return request is not None and current_person_id(request) is None and not _is_staff(request)


@register.inclusion_tag("events/_coverage_list.html", takes_context=True)
def coverage_for(
    context: template.Context, target: Session | Event | Person | Topic, heading: str = "Coverage"
) -> dict:
    request = context.get("request")
    person_id = current_person_id(request) if request is not None else None
    embeds = isinstance(target, Session)
    items = []
    staff = _is_staff(request)
    for coverage in coverage_of(target, viewer_id=person_id):
        provider = PROVIDERS.get(coverage.provider)
        src = provider.src(coverage.embed_id) if provider and embeds and coverage.status == CoverageStatus.OK else None
        mine = person_id is not None and coverage.added_by_id == person_id
        items.append(CoverageItem(
            coverage, src or "", provider.aspect if provider else "", provider.label if provider else "", mine,
            removable=mine or staff, failure=failure_words(coverage.failure) if mine and coverage.failure else "",
        ))
    return {
        "items": items, "heading": heading, "request": request, "csrf_token": context.get("csrf_token"),
        "paste_talk": target if isinstance(target, Session) else None,
        "paste_event": target if isinstance(target, Event) else None,
        "can_paste": isinstance(target, (Session, Event)) and person_id is not None
        and request is not None and flag_active(request, "link_pasting"),
        "read_only": context.get("read_only"),  # {% writable %} around the form
        "show_context": not isinstance(target, Session),
        "on_event": isinstance(target, Event),  # its talks' coverage needs no "at <event>"
        "kinds": Coverage.Kind.choices,
    }
