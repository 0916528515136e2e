"""The follows page (what was imported, refresh, disconnect) and the connect and sign-in
flows of Mastodon and Bluesky; GitHub's are allauth's (``adapter.py``). Thin: reads in
``selectors``, writes in ``services``, the Mastodon flow in ``flows``."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from digest.ops.live import OPS_DEFAULTS

from ..events.models import Person
from ..ops.services import request_snapshot
from ..request_types import AuthenticatedRequest
from . import flows, selectors, services

log = logging.getLogger(__name__)
REFRESH_SECONDS = 2  # the page looks again this often while an import runs


def _person(request: HttpRequest) -> Person | None:
    return Person.objects.filter(user=request.user).first() if request.user.is_authenticated else None


@require_http_methods(["GET", "HEAD"])
def connections(request: HttpRequest) -> HttpResponse:
    person = _person(request)
    if person is None:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return render(request, "social/connections.html", {"person": None})
    rows = selectors.connected(person.pk)
    return render(request, "social/connections.html", {
        "person": person,
        "rows": rows,
        "reach": selectors.reach(person.pk),
        "manual": selectors.manual_follows(person.pk),
        "importing": any(row.importing_since is not None for row in rows),
        "refresh_seconds": REFRESH_SECONDS,
        "cap": request_snapshot(request).settings.get("follows_cap", OPS_DEFAULTS["follows_cap"]),
        "github": bool(settings.LANYARD.accounts.github_client_id),
    })


def _signed_in_person(view):
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        person = _person(request)
        if person is None:
            messages.info(request, "Please sign in first; nothing was changed.")
            return redirect_to_login("/accounts/connected/")
        return view(request, person, *args, **kwargs)

    wrapped.__name__ = view.__name__
    return wrapped


@require_POST
@_signed_in_person
def refresh(request: HttpRequest, person: Person, account_id: int) -> HttpResponse:
    account = person.accounts.filter(pk=account_id).first()
    if account is None:
        messages.error(request, "That account is not connected to your profile; nothing was changed.")
    else:
        services.account_import_queue(account_id=account.pk)
        messages.success(request, f"Importing whom {account.handle} follows again.")
    return redirect("connections")


@require_POST
@_signed_in_person
def disconnect(request: AuthenticatedRequest, person: Person, account_id: int) -> HttpResponse:
    try:
        account = services.account_disconnect(person=person, user=request.user, account_id=account_id)
    except services.ConnectRefused as refused:
        messages.error(request, str(refused))
        return redirect("connections")
    messages.success(request, f"Disconnected {account.get_provider_display()} account {account.handle}: its token "
                              "and the follows imported from it are deleted; the people you followed here stay.")
    return redirect("connections")


@require_POST
@never_cache
def mastodon_start(request: HttpRequest) -> HttpResponse:
    """Sign in (signed out) or connect (signed in) with an account on any Mastodon server.

    Not a redirect: the site's forms may lead only to the site (CSP ``form-action 'self'``),
    which browsers apply to the redirects after a post too, and a Mastodon server can be
    anywhere; a page of ours sends the browser on instead (a refresh, and a link)."""
    try:
        url = flows.mastodon_authorize(request, typed=request.POST.get("server", "")[:300])
    except services.ConnectRefused as refused:
        messages.error(request, str(refused))
        return redirect("connections" if request.user.is_authenticated else "login")
    return render(request, "social/mastodon_continue.html", {"url": url, "server": urlsplit(url).netloc})


@require_http_methods(["GET"])
def mastodon_callback(request: HttpRequest) -> HttpResponse:
    try:
        outcome = flows.mastodon_complete(request)
    except services.ConnectRefused as refused:
        messages.error(request, str(refused))
        return redirect("connections" if request.user.is_authenticated else "login")
    messages.success(request, outcome)
    return redirect("connections")


@require_POST
@_signed_in_person
def bluesky_connect(request: HttpRequest, person: Person) -> HttpResponse:
    try:
        outcome = flows.bluesky_connect(person=person, typed=request.POST.get("handle", "")[:300])
    except services.ConnectRefused as refused:
        messages.error(request, str(refused))
        return redirect("connections")
    messages.success(request, outcome)
    return redirect("connections")
