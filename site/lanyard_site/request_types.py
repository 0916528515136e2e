"""Request types for annotations: what a view may rely on after its checks. Django's
HttpRequest types ``user`` as a User or AnonymousUser; behind a check of
``request.user.is_authenticated`` it is a User (the default user model)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest


class AuthenticatedRequest(HttpRequest):
    user: User
