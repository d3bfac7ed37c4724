from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "reputable.integrations"
    label = "integrations"
