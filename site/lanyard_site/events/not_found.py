"""The site's own 404 page in development too.

With ``DEBUG`` on (``lanyard up``, ``lanyard serve site``) Django answers a missing page
with its technical 404: a list of URL patterns in its own layout, wider than a phone and
unlike the site a person is trying. This middleware swaps that one page for the site's
404 (with the path, and where the addresses are defined); production never sees it.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

TECHNICAL_404_MARK = b"DEBUG = True"  # in every technical 404 Django renders


class SiteNotFoundMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            settings.DEBUG
            and response.status_code == 404
            and response.get("Content-Type", "").startswith("text/html")
            and not response.streaming
            and TECHNICAL_404_MARK in response.content
        ):
            return render(request, "404.html", {"debug_path": request.path}, status=404)
        return response
