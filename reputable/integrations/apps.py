from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "reputable.integrations"
    label = "integrations"

    def ready(self) -> None:
        # The platform modules register themselves in PLATFORMS when imported: every process
        # (web, dispatcher, management commands) must know them all.
        from reputable.integrations.platforms import load

        load()
