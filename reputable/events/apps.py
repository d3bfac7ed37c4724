from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "reputable.events"
    label = "events"
