"""allauth's signals: a GitHub account signed in with or connected is linked to the person
as verified (OAuth) and its follow list imported, after commit."""

from __future__ import annotations

from allauth.socialaccount.signals import social_account_added
from django.contrib.auth.signals import user_logged_in

from . import services


def _github_linked(sender, request, sociallogin, **kwargs) -> None:
    services.github_account_connect(request=request, user=sociallogin.user, account=sociallogin.account)


def _logged_in(sender, request, user, sociallogin=None, **kwargs) -> None:
    # A new user's first sign-in sends neither signal above; a returning one's is harmless.
    if sociallogin is not None and sociallogin.account.provider == "github":
        services.github_account_connect(request=request, user=user, account=sociallogin.account)


def connect() -> None:
    social_account_added.connect(_github_linked, dispatch_uid="social_github_added")
    user_logged_in.connect(_logged_in, dispatch_uid="social_github_logged_in")
