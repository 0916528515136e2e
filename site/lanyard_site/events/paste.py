"""Pasting a link onto a talk or an event: a signed-in person's POST, CSRF-checked.

The form (``events/_paste_link.html``) posts here; the link is stored at once and shown
as "fetching…" to its author, and a Celery task fetches it (``coverage_services``).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from digest.vocabulary import CoverageKind

from ..ops.services import flag_active
from .models import Coverage, Event, Person, Session
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
