from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "lanyard_site.events"
    label = "events"
    verbose_name = "Events, people and talks"

    def ready(self):
        from . import graph_signals, search_signals  # noqa: PLC0415 -- signals need the models loaded: in ready()

        graph_signals.connect()
        search_signals.connect_signals()
