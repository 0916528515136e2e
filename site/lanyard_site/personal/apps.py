from django.apps import AppConfig


class PersonalConfig(AppConfig):
    name = "lanyard_site.personal"
    label = "personal"
    verbose_name = "Signed-in pages"

    def ready(self) -> None:
        from . import cascades, signin

        signin.connect()
        cascades.connect()
