from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "lanyard_site.events"
    label = "events"
    verbose_name = "Events, people and talks"

    def ready(self):
        from . import graph_signals, search_signals

        graph_signals.connect()
        search_signals.connect_signals()
