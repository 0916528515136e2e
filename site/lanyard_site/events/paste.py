"""Pasting a link onto a talk or an event, and removing it: a signed-in person's POSTs,
CSRF-checked.

The form (``events/_paste_link.html``) posts here; the link is stored at once and shown
as "fetching…" to its author, and a Celery task fetches it (``services/coverage.py``). Its
author (or staff) removes it from a confirmation page (``events/remove_link.html``).
"""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from digest.coverage.failures import failure_words
from digest.vocabulary import CoverageKind

from ..ops.services import flag_active
from .models import Coverage, Event, Person, Session
from .selectors.coverage import coverage_removable
from .services import coverage as coverage_services


class PasteLinkForm(forms.Form):
    url = forms.URLField(max_length=500, assume_scheme="https", error_messages={
        "invalid": "That is not a web address (it should start with https:// or http://).",
        "max_length": "That address is longer than 500 characters.",
    })
    kind = forms.ChoiceField(required=False, choices=[("", "let lanyard tell"), *Coverage.Kind.choices])

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        if not url.lower().startswith(("http://", "https://")):
            raise forms.ValidationError("Only http:// and https:// links can be added.")
        return url


@require_POST
def paste_talk(request: HttpRequest, talk_id: int) -> HttpResponse:
    talk = get_object_or_404(Session, pk=talk_id)
    return _paste(request, reverse("talk", args=[talk.pk]), session=talk)


@require_POST
def paste_event(request: HttpRequest, slug: str) -> HttpResponse:
    event = get_object_or_404(Event, slug=slug)
    return _paste(request, reverse("event", args=[event.slug]), event=event)


def _paste(request: HttpRequest, back: str, *, session: Session | None = None,
           event: Event | None = None) -> HttpResponse:
    if not flag_active(request, "link_pasting"):
        messages.info(request, "Adding links is switched off for the moment; nothing was added.")
        return redirect(back)
    if not request.user.is_authenticated:  # the real session, not the signed-in cookie
        messages.info(request, "Please sign in to add a link; nothing was added.")
        return redirect_to_login(back)
    person = Person.objects.filter(user=request.user).first()
    if person is None:
        messages.error(request, "Your account has no lanyard profile yet, so no link was added; make one here.")
        return redirect("profile")
    form = PasteLinkForm(request.POST)
    if not form.is_valid():
        problems = " ".join(str(e) for errors in form.errors.values() for e in errors)
        messages.error(request, f"No link was added: {problems}")
        return redirect(back)
    coverage_services.coverage_paste(url=form.cleaned_data["url"], added_by=person, session=session, event=event,
                                     kind=CoverageKind(form.cleaned_data["kind"]) if form.cleaned_data["kind"] else "")
    messages.success(request, "Link added; lanyard is fetching it now.")
    return redirect(f"{back}#coverage")


@require_http_methods(["GET", "POST"])
def remove_link(request: HttpRequest, coverage_id: int) -> HttpResponse:
    """GET: what would go, and a button; POST: it goes, audited. Someone else's link is a
    404 (whether it exists is not theirs to know)."""
    if not request.user.is_authenticated:  # the real session, not the signed-in cookie
        return redirect_to_login(request.get_full_path())
    person = Person.objects.filter(user=request.user).first()
    coverage = coverage_removable(coverage_id, person_id=person.pk if person else None,
                                  staff=request.user.is_staff)
    if coverage is None:
        raise Http404("no such link of yours")
    back = (reverse("talk", args=[coverage.session_id]) if coverage.session_id
            else reverse("event", args=[cast(Event, coverage.event).slug]))  # no talk: an event (constraint)
    if request.method == "POST":
        coverage_services.coverage_remove(coverage=coverage, removed_by=request.user.get_username())
        messages.success(request, f"Link removed: {coverage.title}")
        return redirect(f"{back}#coverage")
    return render(request, "events/remove_link.html", {
        "coverage": coverage, "back": back, "failure": failure_words(coverage.failure) if coverage.failure else "",
    })
