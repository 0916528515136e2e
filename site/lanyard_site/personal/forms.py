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

from digest.slugs import is_slug

from ..events.models import Person, SlugHistory, SlugKind
from ..mailing.models import Subscription
from .services import ProfileChange


@lru_cache(maxsize=1)
def timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


HANDLE_HELP = (
    "Your address on lanyard: /people/<handle>/. Leave it blank and lanyard makes one from your name in "
    "Latin letters and a number (אורי becomes vry-12); or choose your own: 2 to 64 lowercase letters a-z, "
    "digits and single hyphens. Links to an old handle keep working."
)


def handle_field() -> forms.CharField:
    return forms.CharField(label="Handle", max_length=64, required=False, help_text=HANDLE_HELP)


def clean_handle(value: str, *, person: Person | None) -> str:
    """A chosen handle: slug form, and neither another person's handle nor one they had before
    (its old links must keep leading to them)."""
    value = value.strip().lower()
    if not value:
        return ""
    if len(value) < 2 or not is_slug(value):
        raise forms.ValidationError(
            "A handle is 2 to 64 lowercase letters a-z, digits and single hyphens, e.g. ori-levi."
        )
    others = Person.objects.exclude(pk=person.pk) if person else Person.objects.all()
    earlier = SlugHistory.objects.filter(kind=SlugKind.PERSON, slug=value)
    if person:
        earlier = earlier.exclude(target_id=person.pk)
    if others.filter(handle=value).exists() or earlier.exists():
        raise forms.ValidationError(f"The handle {value!r} is taken; choose another.")
    return value


class ProfileForm(forms.Form):
    name = forms.CharField(max_length=200)
    handle = forms.CharField(label="Handle", max_length=64, required=False, help_text=HANDLE_HELP)
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

    def clean_handle(self) -> str:
        return clean_handle(self.cleaned_data["handle"], person=self.person) or self.person.handle

    def clean_timezone(self) -> str:
        value = self.cleaned_data["timezone"].strip()
        if value not in timezones():
            raise forms.ValidationError(f"{value!r} is not a time zone; use a name such as Europe/Paris or UTC.")
        return value

    def clean(self):
        super().clean()
        data = self.cleaned_data
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
            handle=d["handle"],
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
            "handle": person.handle,
            "bio": person.bio,
            "avatar_url": person.avatar_url,
            "timezone": person.timezone,
            "list_name": subscription.list if subscription else Subscription.List.DAILY,
            "send_hour": subscription.send_hour if subscription and subscription.send_hour is not None else 7,
        }


class ProfileCreateForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="Your name as others see it.")
    handle = handle_field()

    def clean_handle(self) -> str:
        return clean_handle(self.cleaned_data["handle"], person=None)


class SignupForm(UserCreationForm):
    email = forms.EmailField(help_text="Where your digest and password resets go.")
    name = forms.CharField(max_length=200, help_text="Your name as others see it.")
    handle = handle_field()
    digest = forms.ChoiceField(
        label="Email digest",
        choices=[("daily", "Daily"), ("weekly", "Weekly"), ("none", "None for now")],
        initial="daily",
        required=False,  # a form from before the choice existed: daily, as it said
        help_text=(
            "An email of the upcoming events the people you follow go to or speak at, sent at 7:00 in your time "
            "zone. Every email has a one-click unsubscribe link; change it any time on your profile."
        ),
    )

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

    def clean_handle(self) -> str:
        return clean_handle(self.cleaned_data["handle"], person=None)


class PasswordResetForm(DjangoPasswordResetForm):
    """Django's, with links under LANYARD_BASE_URL (not the Host header a request happened to carry)."""

    def save(self, *args, **kwargs) -> None:
        base = urlsplit(settings.LANYARD.site.base_url)
        kwargs.update(domain_override=base.netloc, use_https=base.scheme == "https")
        super().save(*args, **kwargs)
