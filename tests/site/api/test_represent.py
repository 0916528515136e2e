"""api/represent.py: links built from a URL name reversed once are reverse()'s own."""

from __future__ import annotations

from django.test import RequestFactory
from django.urls import reverse

from lanyard_site.api.represent import API, Represent


def test_a_link_is_reverse_and_build_absolute_uri():
    request = RequestFactory().get("/api/v1/events", HTTP_HOST="lanyard.example:8443", secure=True)
    show = Represent(request)
    for name, arg in [("event", "pycon-lyon-2027"), (f"{API}:event", "pycon-lyon-2027"), ("talk", 7),
                      (f"{API}:talk", 123456789), ("person", "ada-lovelace"), ("topic", "python")]:
        assert show._link(name, arg) == request.build_absolute_uri(reverse(name, args=[arg])), name
