from django.apps import AppConfig


class InvitationsConfig(AppConfig):
    name = "reputable.invitations"
    label = "invitations"

    def ready(self) -> None:
        from reputable.invitations import bounces  # noqa: F401 - its receiver takes the providers' bounce reports
