from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "reputable.webhooks"
    label = "webhooks"

    def ready(self) -> None:
        from reputable.webhooks import privacy  # noqa: F401 - registers what erasure does to messages
