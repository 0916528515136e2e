from django.apps import AppConfig


class PersonalConfig(AppConfig):
    name = "lanyard_site.personal"
    label = "personal"
    verbose_name = "Signed-in pages"

    def ready(self) -> None:
        from . import cascades, signin  # noqa: PLC0415 -- signals need the models loaded: in ready()

        signin.connect()
        cascades.connect()
