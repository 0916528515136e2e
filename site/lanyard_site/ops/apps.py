from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "lanyard_site.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self):
        from . import instrumentation  # noqa: PLC0415 -- it imports models, ready only now

        instrumentation.install()
