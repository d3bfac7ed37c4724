from django.apps import AppConfig


class InvitationsConfig(AppConfig):
    name = "reputable.invitations"
    label = "invitations"
