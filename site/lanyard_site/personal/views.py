"""Views of the signed-in person: the calendar and its feed, event.ics, actions, the profile.

Thin: reads in ``selectors``, writes in ``services``. Pages read who is signed in from the
signed cookie (``signin``); every write checks the real session first.
"""

from __future__ import annotations

import logging
from functools import wraps
from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from digest.tokens import FeedRef, TokenError, TokenSigner

from ..api.selectors import api_tokens_of
from ..api.services import TokenRefused, api_token_create, api_token_revoke
from ..events.models import Event, Person
from ..ops.services import flag_active
from ..request_types import AuthenticatedRequest
from . import ical, mail, selectors, services
from .forms import ProfileCreateForm, ProfileForm, SignupForm
from .signin import forget, remember, signed_in

PAGE_SIZE = 50
log = logging.getLogger(__name__)
ROLE_ACTIONS = {"attending": "You are going", "speaking": "You are speaking", "tracking": "You are tracking this event"}


def _signer() -> TokenSigner:
    return TokenSigner(settings.LANYARD.secret_keys)


def current_person_id(request: HttpRequest) -> int | None:
    """Who is signed in, from the signed cookie; without one (a session from before the
    cookie existed) from the session once, which sets the cookie."""
    who = signed_in(request)
    if who is not None:
        return who.person_id
    if request.user.is_authenticated:
        return remember(request, request.user).person_id
    return None


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def person_write(view):
    """POST only, with a real session and a lanyard profile; otherwise a clear message and nothing written."""

    @require_POST
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            if signed_in(request) is not None:
                forget(request)  # the session ended; the bar must not say otherwise
            messages.info(request, "Please sign in first; nothing was changed.")
            return redirect_to_login(_back(request, request.path))
        person = Person.objects.filter(user=request.user).first()
        if person is None:
            messages.error(request, "Your account has no lanyard profile yet, so nothing was changed; make one here.")
            return redirect("profile")
        return view(request, person, *args, **kwargs)

    return wrapped


# -- actions -----------------------------------------------------------------------------


@person_write
def attendance(request: HttpRequest, person: Person, slug: str) -> HttpResponse:
    event = get_object_or_404(Event, slug=slug)
    role = request.POST.get("role", "")
    back = _back(request, reverse("event", args=[event.slug]))
    if role == "none":
        removed = services.attendance_remove(person=person, event=event)
        messages.success(
            request, f"You are no longer down for {event.name}." if removed else f"You were not down for {event.name}."
        )
        return redirect(back)
    if role not in ROLE_ACTIONS:
        messages.error(request, "Choose attending, speaking or tracking; nothing was changed.")
        return redirect(back)
    if role == "speaking":
        part = selectors.event_part(person.pk, event, timezone.localdate())
        if not part.may_speak:
            messages.error(request, f"You cannot say you are speaking at {event.name}: {part.why_not_speaking}")
            return redirect(back)
    changed = services.attendance_set(person=person, event=event, role=role)
    messages.success(
        request, f"{ROLE_ACTIONS[role]}: {event.name}." if changed else f"Already so: {event.name}; nothing changed."
    )
    return redirect(back)


@person_write
def follow(request: HttpRequest, person: Person, handle: str) -> HttpResponse:
    other = get_object_or_404(Person, handle=handle)
    back = _back(request, reverse("person", args=[other.handle]))
    try:
        created = services.follow_create(follower=person, followee=other)
    except services.ActionRefused as refused:
        messages.error(request, str(refused))
        return redirect(back)
    messages.success(request, f"You follow {other.name}." if created else f"You already follow {other.name}.")
    return redirect(back)


@person_write
def unfollow(request: HttpRequest, person: Person, handle: str) -> HttpResponse:
    other = get_object_or_404(Person, handle=handle)
    removed = services.follow_delete(follower=person, followee=other)
    messages.success(
        request, f"You no longer follow {other.name}." if removed else f"You were not following {other.name}."
    )
    return redirect(_back(request, reverse("person", args=[other.handle])))


@person_write
def feed_reset(request: HttpRequest, person: Person) -> HttpResponse:
    services.person_feed_reset(person=person)
    messages.success(request, "Your calendar feed has a new link; the old one no longer works.")
    return redirect("calendar")


# -- the calendar, its feed, event.ics -----------------------------------------------------


@require_http_methods(["GET", "HEAD"])
def calendar(request: HttpRequest) -> HttpResponse:
    person_id = current_person_id(request)
    if person_id is None:
        if signed_in(request) is None:
            return redirect_to_login(request.get_full_path())
        return render(request, "personal/calendar.html", {"person": None})
    filters, notes = selectors.calendar_filters(request.GET)
    found = selectors.calendar(person_id, filters)  # from the database while the graph is away
    page = Paginator(found.event_ids, PAGE_SIZE).get_page(request.GET.get("page"))
    person = selectors.person_feed(person_id)
    feed = _feed_url(person) if person else ""
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "personal/calendar.html",
        {
            "person": person,
            "page": page,
            "filters": filters,
            "notes": notes,
            "query": query.urlencode(),
            "entries": found.entries(list(page.object_list), speaking_only=filters.speaking_only),
            "topics": selectors.calendar_topics(),
            "feed_url": feed,
            "webcal_url": feed.replace("https://", "webcal://", 1).replace("http://", "webcal://", 1),
        },
    )


def _feed_url(person: Person) -> str:
    token = _signer().sign_feed(FeedRef(person.pk, person.feed_version))
    return settings.LANYARD.site.base_url + reverse("calendar_feed", args=[token])


NOT_FOUND = "Not found\n"


@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The calendar as iCalendar for apps to subscribe to: no login, the token is the key.
    Tampered, truncated and revoked tokens get the same bare 404; so does every feed while
    the ``calendar_feed`` flag is off."""
    if not flag_active(request, "calendar_feed"):
        return HttpResponseNotFound(NOT_FOUND, content_type="text/plain")
    try:
        ref = _signer().verify_feed(token)
    except TokenError:
        return HttpResponseNotFound(NOT_FOUND, content_type="text/plain")
    person = selectors.person_feed(ref.person_id)
    if person is None or person.feed_version != ref.feed_version:
        return HttpResponseNotFound(NOT_FOUND, content_type="text/plain")
    found = selectors.calendar(person.pk)
    body = ical.calendar_ics(found.entries(found.event_ids), name=f"lanyard: {person.name}'s calendar")
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=900"
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_GET
def event_ics(request: HttpRequest, slug: str) -> HttpResponse:
    event = get_object_or_404(Event, slug=slug)
    response = HttpResponse(ical.event_ics(event), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{event.slug}.ics"'
    return response


# -- account -----------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    person = Person.objects.filter(user=request.user).first()
    if person is None:
        return _profile_create(cast(AuthenticatedRequest, request))  # signed in: checked above
    if request.method == "POST":
        form = ProfileForm(request.POST, person=person)
        if form.is_valid():
            subscription = services.person_update_profile(person=person, change=form.change(), email=request.user.email)
            remember(request, request.user)  # the bar shows the new name
            messages.success(
                request, "Profile saved." if subscription else "Profile saved; add an email address to get a digest."
            )
            return redirect("profile")
    else:
        form = ProfileForm(initial=ProfileForm.initial_for(person), person=person)
    return _profile_page(request, person, form)


def _profile_page(request: HttpRequest, person: Person, form: ProfileForm | None = None, *,
                  new_token: str = "", status: int = 200) -> HttpResponse:
    form = form or ProfileForm(initial=ProfileForm.initial_for(person), person=person)
    return render(request, "personal/profile.html", {
        "form": form, "person": person, "tokens": api_tokens_of(person), "new_token": new_token,
    }, status=status)


@person_write
def token_create(request: HttpRequest, person: Person) -> HttpResponse:
    """A personal API token, shown on this one page and never again (only its hash is kept);
    rendered, not redirected, so the token is in no cookie, message store or history entry."""
    try:
        _, token = api_token_create(person=person, name=request.POST.get("name", ""))
    except TokenRefused as refused:
        messages.error(request, str(refused))
        return redirect("profile")
    response = _profile_page(request, person, new_token=token)
    response["Cache-Control"] = "no-store"
    return response


@person_write
def token_revoke(request: HttpRequest, person: Person, token_id: int) -> HttpResponse:
    revoked = api_token_revoke(person=person, token_id=token_id)
    messages.success(request, "Token revoked: programs using it are refused from now on." if revoked
                     else "That token was revoked already.")
    return redirect("profile")


def _profile_create(request: AuthenticatedRequest) -> HttpResponse:
    """An account without a profile (a staff account, or one whose profile a demo reset
    replaced) makes one here, rather than meeting a dead end on every action."""
    form = ProfileCreateForm(request.POST if request.method == "POST" else None,
                             initial={"name": request.user.get_full_name() or request.user.username})
    if request.method == "POST" and form.is_valid():
        person = services.person_create(user=request.user, name=form.cleaned_data["name"],
                                        handle=form.cleaned_data["handle"])
        remember(request, request.user)
        messages.success(request, f"Your profile is made: {person.name} (@{person.handle}).")
        return redirect("profile")
    return render(request, "personal/profile.html", {"create_form": form})


@require_http_methods(["GET", "HEAD", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = SignupForm(request.POST)
        if form.is_valid():
            person = services.person_sign_up(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                email=form.cleaned_data["email"],
                name=form.cleaned_data["name"],
                handle=form.cleaned_data["handle"],
                list_name=None if form.cleaned_data["digest"] == "none" else form.cleaned_data["digest"] or "daily",
            )
            login(request, person.user, backend="django.contrib.auth.backends.ModelBackend")
            mail.welcome_send(person=person, email=form.cleaned_data["email"])
            messages.success(request, f"Welcome, {person.name}. Follow people to fill your calendar.")
            return redirect("person", person.handle)
    else:
        form = SignupForm()
    return render(request, "personal/signup.html", {"form": form})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a clear page in the site's layout, no detail of the check."""
    return render(request, "personal/csrf_failure.html", status=403)
