"""Forms of the signed-in pages: every refusal names its reason."""

from __future__ import annotations

import zoneinfo
from functools import lru_cache
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm as DjangoPasswordResetForm
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User
from django.core.validators import URLValidator

from ..events.models import Person
from ..mailing.models import Subscription
from .services import ProfileChange


@lru_cache(maxsize=1)
def timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class ProfileForm(forms.Form):
    name = forms.CharField(max_length=200)
    bio = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False, max_length=5000)
    avatar_url = forms.CharField(
        label="Avatar URL",
        required=False,
        max_length=500,
        validators=[
            URLValidator(schemes=["http", "https"], message="The avatar URL must be an http:// or https:// address.")
        ],
    )
    timezone = forms.CharField(max_length=64, help_text="An IANA time zone name, e.g. Europe/Paris.")
    list_name = forms.ChoiceField(label="Digest", choices=Subscription.List.choices)
    send_hour = forms.IntegerField(
        label="Send hour",
        min_value=0,
        max_value=23,
        help_text="Hour of the day (0-23) in your time zone.",
        error_messages={
            "min_value": "The send hour must be between 0 and 23.",
            "max_value": "The send hour must be between 0 and 23.",
        },
    )

    def __init__(self, *args, person: Person, **kwargs):
        self.person = person
        super().__init__(*args, **kwargs)

    def clean_timezone(self) -> str:
        value = self.cleaned_data["timezone"].strip()
        if value not in timezones():
            raise forms.ValidationError(f"{value!r} is not a time zone; use a name such as Europe/Paris or UTC.")
        return value

    def clean(self):
        data = super().clean()
        current = self.person.subscriptions.order_by("pk").first()
        wanted = data.get("list_name")
        if (
            current is not None
            and wanted
            and wanted != current.list
            and self.person.subscriptions.filter(list=wanted).exists()
        ):
            self.add_error(
                "list_name", f"You already have a {wanted} subscription; manage both on the Subscriptions page."
            )
        return data

    def change(self) -> ProfileChange:
        d = self.cleaned_data
        return ProfileChange(
            name=d["name"],
            bio=d["bio"],
            avatar_url=d["avatar_url"],
            timezone=d["timezone"],
            list_name=d["list_name"],
            send_hour=d["send_hour"],
        )

    @classmethod
    def initial_for(cls, person: Person) -> dict:
        subscription = person.subscriptions.order_by("pk").first()
        return {
            "name": person.name,
            "bio": person.bio,
            "avatar_url": person.avatar_url,
            "timezone": person.timezone,
            "list_name": subscription.list if subscription else Subscription.List.DAILY,
            "send_hour": subscription.send_hour if subscription and subscription.send_hour is not None else 7,
        }


class SignupForm(UserCreationForm):
    email = forms.EmailField(help_text="Where your digest and password resets go.")
    name = forms.CharField(max_length=200, help_text="Your name as others see it.")

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                "An account with this email address exists already; reset its password instead."
            )
        return email


class PasswordResetForm(DjangoPasswordResetForm):
    """Django's, with links under LANYARD_BASE_URL (not the Host header a request happened to carry)."""

    def save(self, **kwargs) -> None:
        base = urlsplit(settings.LANYARD.base_url)
        kwargs.update(domain_override=base.netloc, use_https=base.scheme == "https")
        super().save(**kwargs)
