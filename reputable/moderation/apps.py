from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "reputable.moderation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from reputable.moderation import (  # noqa: F401 - registers:
            dispatch,  # the deadlines' kind of due work
            privacy,  # what moderation holds about a person, for privacy requests and retention
        )
