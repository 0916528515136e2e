"""allauth, fitted to lanyard: a GitHub sign-in finds or makes the user and their lanyard
person; the site's own sign-in form and sign-up stay the ones people use."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.contrib import messages
from django.contrib.auth.models import User
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from digest.vocabulary import Provider

from . import selectors, services


class AccountAdapter(DefaultAccountAdapter):
    def get_signup_redirect_url(self, request) -> str:
        return reverse("connections")


class SocialAdapter(DefaultSocialAccountAdapter):
    def pre_social_login(self, request, sociallogin) -> None:
        """Before allauth signs in or connects: an external account already on a lanyard
        person decides who this is. Verified there: sign in as that person. Typed in by an
        organiser on a person nobody has claimed: the newcomer claims that person
        (``save_user``). Anything else that would put one account on two people is refused."""
        if sociallogin.is_existing:
            return
        uid = str(sociallogin.account.uid)
        found = selectors.account_owner(provider=Provider.GITHUB, external_id=uid)
        current = request.user if request.user.is_authenticated else None
        if found is None:
            return
        if current is not None and found.user_id != current.pk:
            self._refuse(request, "This GitHub account belongs to another lanyard profile; nothing was changed.")
        if current is None and found.user_id is not None:
            if not found.verified:
                self._refuse(request, f"This GitHub account is listed on @{found.handle}'s profile; sign in to it "
                                      "and connect GitHub from there.")
            sociallogin.connect(request, User.objects.get(pk=found.user_id))

    def _refuse(self, request, message: str):
        messages.error(request, message)
        raise ImmediateHttpResponse(redirect("connections" if request.user.is_authenticated else "login"))

    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        # An address another user has already is not taken over: the newcomer adds one later.
        if user.email and User.objects.filter(email__iexact=user.email).exists():
            user.email = ""
        return user

    def save_user(self, request, sociallogin, form=None):
        since = timezone.now()
        user = super().save_user(request, sociallogin, form)
        extra = sociallogin.account.extra_data
        claim = selectors.account_owner(provider=Provider.GITHUB, external_id=str(sociallogin.account.uid))
        services.person_for_new_user(
            user=user, name=str(extra.get("name") or extra.get("login") or user.get_username()), claim=claim,
        )
        # A new user's sign-in sends neither social_account_added nor a user_logged_in naming it.
        try:
            services.github_account_connect(request=request, user=user, account=sociallogin.account)
        except services.ConnectRefused as refused:  # the link lost a race: undo the sign-up, say so
            services.sign_up_undo(request=request, user=user, claim=claim, since=since)
            self._refuse(request, str(refused))
        return user

    def get_connect_redirect_url(self, request, socialaccount) -> str:
        return reverse("connections")

    def on_authentication_error(self, request, provider, error=None, exception=None, extra_context=None) -> None:
        messages.error(request, services.signin_failure_message(provider.name, error, exception))
        raise ImmediateHttpResponse(redirect("connections" if request.user.is_authenticated else "login"))
