from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "reputable.webhooks"
    label = "webhooks"
