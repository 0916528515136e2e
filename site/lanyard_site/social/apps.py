from django.apps import AppConfig


class SocialConfig(AppConfig):
    name = "lanyard_site.social"
    label = "social"
    verbose_name = "Sign-in with other networks"

    def ready(self) -> None:
        from . import signals  # noqa: PLC0415 -- allauth's signals need the models loaded: in ready()

        signals.connect()
