"""The signed-in person's endpoints, for a session (with its CSRF token for writes) or a
personal API token (``Authorization: Bearer lanyard_…``): their calendar (the digest's own
friend strategy, as the calendar page), follows (add, remove) and subscriptions."""

from __future__ import annotations

from django.conf import settings
from django.db.models import prefetch_related_objects
from django.http import HttpRequest
from ninja import Path, Query, Router
from ninja.security import HttpBearer, SessionAuth

from digest.slugs import SLUG_PATTERN

from ..events.models import Person
from ..mailing.selectors import subscriptions_of
from ..personal import selectors, services
from . import cursors, schemas
from .params import CalendarQuery, PageQuery, cleaned
from .problems import ApiProblem
from .represent import Represent


class TokenAuth(HttpBearer):
    """The token the API middleware already found (it answers 401 for a bad one)."""

    def authenticate(self, request: HttpRequest, token: str):
        found = getattr(request, "api_token", None)
        return found.person if found is not None else None


class PersonSession(SessionAuth):
    """The session's user (Django's session cookie; writes need the CSRF token)."""

    param_name = settings.SESSION_COOKIE_NAME


router = Router(auth=[TokenAuth(), PersonSession()], tags=["me"])
HANDLE = Path(..., pattern=f"^{SLUG_PATTERN}$", max_length=64)


def _me(request: HttpRequest) -> Person:
    """The person asking; 403 for a user without a lanyard profile."""
    found = getattr(request, "auth", None)  # set by ninja's authentication before the endpoint runs
    if not isinstance(found, Person):
        found = Person.objects.filter(user=found).first()
        if found is None:
            raise ApiProblem(403, "Your account has no lanyard profile.")
    # conditional.py: the answer is this person's (private, Vary). Not an attribute HttpRequest declares.
    vars(request)["api_person_id"] = found.pk
    return found


@router.get("/me", response=schemas.Me, url_name="me", summary="Who you are")
def me(request: HttpRequest):
    return Represent(request).person(_me(request))


@router.get("/me/calendar", response=schemas.CalendarPage, url_name="my_calendar", summary="Your calendar")
def calendar(request: HttpRequest, query: Query[CalendarQuery]):
    """The events people you follow attend or speak at, soonest first, as the nightly digest
    finds them; with the calendar page's filters (``speaking=1``, ``topic``, ``month``)."""
    person = _me(request)
    filters, notes = selectors.calendar_filters(cleaned(query))
    found = selectors.calendar(person.pk, filters)  # from the database while the graph is away
    page = cursors.position_page(found.event_ids, cursor=query.cursor, limit=query.limit, scope="calendar")
    entries = found.entries(page.items, speaking_only=filters.speaking_only)
    show = Represent(request)
    _prefetch_topics([entry.event for entry in entries])
    return {
        "items": [{"event": show.event(entry.event),
                   "followed": [{"person": show.person_ref(p), "role": role} for p, role in entry.followed]}
                  for entry in entries],
        "next": page.next, "ignored": notes,
    }


@router.get("/me/follows", response=schemas.FollowsPage, url_name="my_follows", summary="Who you follow")
def follows(request: HttpRequest, query: Query[PageQuery]):
    person = _me(request)
    page = cursors.keyset_page(selectors.follows_of(person.pk), cursor=query.cursor, limit=query.limit,
                               scope="follows")
    sources = selectors.follow_sources(person.pk, page.items)
    show = Represent(request)
    return {"items": [{**show.person(p), "sources": sources.get(p.pk, [])} for p in page.items],
            "next": page.next, "ignored": []}


def _followee(handle: str) -> Person:
    found = Person.objects.filter(handle=handle).first()
    if found is None:
        raise ApiProblem(404, f"There is no person {handle!r}.")
    return found


@router.put("/me/follows/{handle}", response=schemas.FollowState, url_name="my_follow", summary="Follow someone")
def follow(request: HttpRequest, handle: str = HANDLE):
    """Follow ``handle``; ``changed`` is false when you already did. Their events reach your
    calendar and your next digest."""
    person, other = _me(request), _followee(handle)
    try:
        changed = services.follow_create(follower=person, followee=other)
    except services.ActionRefused as refused:
        raise ApiProblem(422, str(refused)) from None
    return {"person": Represent(request).person_ref(other), "following": True, "changed": changed}


@router.delete("/me/follows/{handle}", response=schemas.FollowState, url_name="my_unfollow", summary="Stop following")
def unfollow(request: HttpRequest, handle: str = HANDLE):
    person, other = _me(request), _followee(handle)
    changed = services.follow_delete(follower=person, followee=other)
    return {"person": Represent(request).person_ref(other), "following": False, "changed": changed}


@router.get("/me/subscriptions", response=schemas.SubscriptionsPage, url_name="my_subscriptions",
            summary="Your digest subscriptions")
def subscriptions(request: HttpRequest, query: Query[PageQuery]):
    person = _me(request)
    page = cursors.keyset_page(subscriptions_of(person), cursor=query.cursor, limit=query.limit,
                               scope="subscriptions")
    return {"items": [Represent.subscription(s) for s in page.items], "next": page.next, "ignored": []}


def _prefetch_topics(events) -> None:
    prefetch_related_objects(list(events), "topics")
