from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "linli.events"
    label = "events"
    verbose_name = "Events"
